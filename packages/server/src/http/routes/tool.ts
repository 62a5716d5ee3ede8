// Routes: POST /tool/signature/generate and /tool/signature/verify (no auth), RM's signature debugger.
import type { KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { GenerateSignatureRequest, limits, VerifySignatureRequest, type GenerateSignatureResponse } from '@tunai/client/contract';
import {
  buildPlaintext,
  canonicalJson,
  dataBase64,
  parsePrivateKey,
  parsePublicKey,
  verifyPlaintext,
} from '@tunai/client/signature';
import { CatalogError } from '../../lib/catalog-error.js';
import { oneAtATime } from '../../lib/one-at-a-time.js';
import { keySizeProblem } from '../../lib/rsa-keys.js';
import { jsonBody } from '../body.js';
import type { RouteTable } from '../route-table.js';
import { validate } from '../validate.js';

function requireSha256(signType: string): void {
  if (signType.toLowerCase() !== 'sha256') {
    throw new CatalogError('VALIDATION_ERROR', 'Validations error: signType must be "sha256"');
  }
}

function plaintextOf(input: { data?: unknown; method: string; nonceStr: string; requestUrl?: string | undefined; timestamp: string }): string {
  return buildPlaintext({
    data: dataBase64(input.data),
    method: input.method,
    nonceStr: input.nonceStr,
    requestUrl: input.requestUrl === '' ? undefined : input.requestUrl,
    signType: 'sha256',
    timestamp: input.timestamp,
  });
}

/** RSASSA-PKCS1-v1_5 with SHA-256, run off the event loop (the process's RSA worker). */
export type SignSha256 = (data: Buffer, privateKey: KeyObject) => Promise<Buffer>;

export function registerToolRoutes(server: FastifyInstance, routes: RouteTable, signSha256: SignSha256): void {
  const toolSignatures = oneAtATime(
    limits.toolSignaturesWaitingMax,
    () => new CatalogError('EXCEEDED_LIMIT', 'Rate limit exceeded: too many signature tool requests at once; try again shortly'),
  );
  routes.add('POST', '/tool/signature/generate');
  server.post('/tool/signature/generate', async (request): Promise<GenerateSignatureResponse> => {
    const input = validate(GenerateSignatureRequest, jsonBody(request));
    requireSha256(input.signType);
    let privateKey;
    try {
      privateKey = parsePrivateKey(input.privateKey);
    } catch {
      throw new CatalogError('INVALID_PRIVATE_KEY', 'Invalid private key: expected an RSA private key in PEM (PKCS#1 or PKCS#8)');
    }
    const sizeProblem = keySizeProblem(privateKey, 'private');
    if (sizeProblem) throw new CatalogError('INVALID_PRIVATE_KEY', sizeProblem);
    const plaintext = plaintextOf(input);
    // Anyone may call this route: the signature (milliseconds for a 4096-bit key) is made on the RSA worker, so the
    // event loop keeps answering other requests meanwhile, and one at a time, so a flood cannot crowd out the
    // worker's tokens and request checks (limits.toolSignaturesWaitingMax).
    const signature = await toolSignatures.run(() => signSha256(Buffer.from(plaintext, 'utf8'), privateKey));
    return {
      data: plaintext,
      // RM shows the sorted JSON before its HTML-safe escaping; the base64 inside `data` carries the escaped form.
      sequenceData: input.data === undefined ? '' : canonicalJson(input.data, 'noHtmlEscape'),
      signature: `sha256 ${signature.toString('base64')}`,
    };
  });

  routes.add('POST', '/tool/signature/verify');
  server.post('/tool/signature/verify', async (request) => {
    const input = validate(VerifySignatureRequest, jsonBody(request));
    requireSha256(input.signType);
    let publicKey;
    try {
      publicKey = parsePublicKey(input.publicKey);
    } catch {
      throw new CatalogError('INVALID_PUBLIC_KEY', 'Invalid public key: expected an RSA public key in PEM (SPKI or PKCS#1)');
    }
    const sizeProblem = keySizeProblem(publicKey, 'public', 0);
    if (sizeProblem) throw new CatalogError('INVALID_PUBLIC_KEY', sizeProblem);
    const signature = input.signature.replace(/^sha256\s+/i, '');
    return { isValid: verifyPlaintext(plaintextOf(input), signature, publicKey) };
  });
}
