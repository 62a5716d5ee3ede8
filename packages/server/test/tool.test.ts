// POST /tool/signature/generate and /verify: RM's documented vectors byte for byte, round trips, key and schema errors, no auth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { limits } from '@tunai/client/contract';
import { generateRsaKeyPairPem, type RsaKeyPairPem } from '../src/lib/rsa-keys.js';
import { startTestServer, type TestServer } from './harness.js';

interface Vector {
  name: string;
  request: Record<string, unknown>;
  expected: { signature?: string; data?: string; isValid?: boolean };
}

/** RM's documented signature examples (a copy of ../shared/test-vectors/signatures.json kept in the repo for CI). */
const vectorsPath = new URL('../../client/test/vectors/signatures.json', import.meta.url);
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')) as {
  generate: Vector[];
  verify: Vector[];
};

/** The spec's Example Respond for Post Generate Signature (spec/001 "Tool" section). */
const seedSpecResponse = {
  data: 'data=eyJhbW91bnQiOjEwMCwiY3VycmVuY3lUeXBlIjoiTVlSIiwiZXhwaXJ5Ijp7InR5cGUiOiJQRVJNQU5FTlQifSwiaXNQcmVGaWxsQW1vdW50Ijp0cnVlLCJtZXRob2QiOm51bGwsIm9yZGVyIjp7ImRldGFpbCI6ImRldGFpbCIsInRpdGxlIjoidGl0bGUifSwicmVkaXJlY3RVcmwiOiJodHRwczovL2dvb2dsZS5jb20iLCJzdG9yZUlkIjoiMTIzNCIsInR5cGUiOiJEWU5BTUlDIn0=&method=post&nonceStr=MNhrdDgIDlTKdlYXzfhEvqHpGjRhvrPe&requestUrl=https://sb-open.revenuemonster.my/v3/payment/transaction/qrcode&signType=sha256&timestamp=1532069238',
  sequenceData:
    '{"amount":100,"currencyType":"MYR","expiry":{"type":"PERMANENT"},"isPreFillAmount":true,"method":null,"order":{"detail":"detail","title":"title"},"redirectUrl":"https://google.com","storeId":"1234","type":"DYNAMIC"}',
  signature:
    'sha256 gCwAhdaHdF4RE7fE9E1mODoEEdd50IcUfFsrxlWvciW+CyFEc/zjmfG9UaNxD7Xmi7cVYbuoUdQGTuXP6VbE6PFgd3t6wWl9ZokBSfYs5260JtBfDdPn263Wz6iTrrPJFQUI60yH4IsDi3uS6FKxP2/hnued4tEiv6pcgZ8o0CY=',
};

interface Response {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

describe('signature tool endpoints', () => {
  let server: TestServer;
  let keys: RsaKeyPairPem;
  before(async () => {
    server = await startTestServer('sqlite');
    keys = await generateRsaKeyPairPem();
  });
  after(() => server.close());

  async function post(path: string, body: unknown): Promise<Response> {
    const res = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  }

  function assertError(res: Response, status: number, code: string): void {
    assert.equal(res.status, status, res.text);
    assert.equal(res.body?.error?.code, code, res.text);
    assert.equal(typeof res.body.error.message, 'string');
  }

  const baseRequest = () => ({
    data: { amount: 100, note: 'A<B> & C\'s 服务费', items: [{ z: 1, a: 2 }] },
    method: 'post',
    nonceStr: 'VYNknZohxwicZMaWbNdBKUrnrxDtaRhN',
    requestUrl: 'https://sb-open.revenuemonster.my/v3/payment/online',
    signType: 'sha256',
    timestamp: '1527407052',
  });

  test('the vector file has generate and verify vectors (a false one included)', () => {
    assert.ok(vectors.generate.length >= 2);
    assert.ok(vectors.verify.length >= 2);
    assert.ok(vectors.verify.some((v) => v.expected.isValid === false));
  });

  for (const vector of vectors.generate) {
    test(`generate reproduces vector ${vector.name} byte for byte`, async () => {
      const res = await post('/tool/signature/generate', vector.request);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.body).sort(), ['data', 'sequenceData', 'signature']);
      assert.equal(res.body.signature, vector.expected.signature);
      if (vector.expected.data !== undefined) assert.equal(res.body.data, vector.expected.data);
      assert.equal(res.body.error, undefined);
    });
  }

  test('generate for the seed vector returns the spec-shown data, sequenceData and signature', async () => {
    const seed = vectors.generate.find((v) => v.name.startsWith('seed-'));
    assert.ok(seed, 'seed vector present');
    const res = await post('/tool/signature/generate', seed.request);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, seedSpecResponse);
  });

  test('generate shows sequenceData with the raw & while data carries \\u0026 (docs-v2 vector)', async () => {
    const v2 = vectors.generate.find((v) => v.name.startsWith('docs-v2'));
    assert.ok(v2 && v2.expected.data);
    const res = await post('/tool/signature/generate', v2.request);
    assert.equal(res.status, 200, res.text);
    const b64 = /^data=([^&]+)&/.exec(v2.expected.data)?.[1] ?? '';
    const escaped = Buffer.from(b64, 'base64').toString('utf8');
    assert.ok(escaped.includes('\\u0026'));
    assert.equal(res.body.sequenceData, escaped.replace(/\\u0026/g, '&'));
  });

  for (const vector of vectors.verify) {
    test(`verify returns isValid=${String(vector.expected.isValid)} for vector ${vector.name}`, async () => {
      const res = await post('/tool/signature/verify', vector.request);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { isValid: vector.expected.isValid });
    });
  }

  test('generate → verify round trip with a fresh key; any change or another key is invalid', async () => {
    const request = baseRequest();
    const generated = await post('/tool/signature/generate', { ...request, privateKey: keys.privateKeyPem });
    assert.equal(generated.status, 200, generated.text);
    assert.match(generated.body.signature, /^sha256 [A-Za-z0-9+/]+=*$/);
    assert.ok((generated.body.data as string).startsWith('data='));
    assert.ok((generated.body.data as string).endsWith('&method=post&nonceStr=VYNknZohxwicZMaWbNdBKUrnrxDtaRhN&requestUrl=https://sb-open.revenuemonster.my/v3/payment/online&signType=sha256&timestamp=1527407052'));

    const verify = (overrides: Record<string, unknown>, publicKey = keys.publicKeyPem) =>
      post('/tool/signature/verify', { ...request, publicKey, signature: generated.body.signature, ...overrides });
    assert.deepEqual((await verify({})).body, { isValid: true });
    // The bare base64 (without "sha256 ") is accepted too.
    assert.deepEqual((await verify({ signature: (generated.body.signature as string).slice('sha256 '.length) })).body, { isValid: true });
    assert.deepEqual((await verify({ timestamp: '1527407053' })).body, { isValid: false });
    assert.deepEqual((await verify({ nonceStr: 'VYNknZohxwicZMaWbNdBKUrnrxDtaRhX' })).body, { isValid: false });
    assert.deepEqual((await verify({ method: 'get' })).body, { isValid: false });
    assert.deepEqual((await verify({ requestUrl: 'https://open.revenuemonster.my/v3/payment/online' })).body, { isValid: false });
    assert.deepEqual((await verify({ data: { ...request.data, amount: 101 } })).body, { isValid: false });
    assert.deepEqual((await verify({ signature: 'sha256 AAAA' })).body, { isValid: false });
    const other = await generateRsaKeyPairPem();
    assert.deepEqual((await verify({}, other.publicKeyPem)).body, { isValid: false });
  });

  test('generate without data omits the data pair and returns an empty sequenceData', async () => {
    const { data: _data, ...request } = baseRequest();
    const res = await post('/tool/signature/generate', { ...request, privateKey: keys.privateKeyPem });
    assert.equal(res.status, 200, res.text);
    assert.ok((res.body.data as string).startsWith('method=post&nonceStr='));
    assert.equal(res.body.sequenceData, '');
    const verified = await post('/tool/signature/verify', { ...request, publicKey: keys.publicKeyPem, signature: res.body.signature });
    assert.deepEqual(verified.body, { isValid: true });
  });

  test('a PKCS#8 private key and a PKCS#1 public key work too', async () => {
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const pkcs8 = createPrivateKey(keys.privateKeyPem).export({ type: 'pkcs8', format: 'pem' }) as string;
    const pkcs1Public = createPublicKey(keys.publicKeyPem).export({ type: 'pkcs1', format: 'pem' }) as string;
    const generated = await post('/tool/signature/generate', { ...baseRequest(), privateKey: pkcs8 });
    assert.equal(generated.status, 200, generated.text);
    const verified = await post('/tool/signature/verify', { ...baseRequest(), publicKey: pkcs1Public, signature: generated.body.signature });
    assert.deepEqual(verified.body, { isValid: true });
  });

  test('bad private key → 400 INVALID_PRIVATE_KEY', async () => {
    for (const privateKey of ['not a key', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----', keys.publicKeyPem]) {
      assertError(await post('/tool/signature/generate', { ...baseRequest(), privateKey }), 400, 'INVALID_PRIVATE_KEY');
    }
  });

  test('bad public key → 400 INVALID_PUBLIC_KEY', async () => {
    for (const publicKey of ['not a key', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----']) {
      assertError(await post('/tool/signature/verify', { ...baseRequest(), publicKey, signature: 'sha256 AAAA' }), 400, 'INVALID_PUBLIC_KEY');
    }
  });

  test('key text at the length limit is read; one character more → 400 VALIDATION_ERROR', async () => {
    const atMax = keys.privateKeyPem + '\n'.repeat(limits.pemCharsMax - keys.privateKeyPem.length);
    assert.equal(atMax.length, limits.pemCharsMax);
    const ok = await post('/tool/signature/generate', { ...baseRequest(), privateKey: atMax });
    assert.equal(ok.status, 200, ok.text);
    assertError(await post('/tool/signature/generate', { ...baseRequest(), privateKey: `${atMax}\n` }), 400, 'VALIDATION_ERROR');
  });

  test(`keys of ${limits.rsaModulusBitsMin} and ${limits.rsaModulusBitsMax} bits sign and verify; ${limits.rsaModulusBitsMin - 8} or ${limits.rsaModulusBitsMax + 8} bits → 400 INVALID_PRIVATE_KEY / INVALID_PUBLIC_KEY`, async () => {
    const [atMin, atMax, underMin, overMax] = await Promise.all(
      [limits.rsaModulusBitsMin, limits.rsaModulusBitsMax, limits.rsaModulusBitsMin - 8, limits.rsaModulusBitsMax + 8].map((bits) => generateRsaKeyPairPem(bits)),
    );
    // A signature is as long as the modulus: 128 bytes (172 base64 characters) at 1024 bits, 512 (684) at 4096.
    for (const [pair, base64Chars] of [[atMin!, 172], [atMax!, 684]] as const) {
      const generated = await post('/tool/signature/generate', { ...baseRequest(), privateKey: pair.privateKeyPem });
      assert.equal(generated.status, 200, generated.text);
      const signatureBase64 = generated.body.signature.slice('sha256 '.length);
      assert.equal(signatureBase64.length, base64Chars);
      const plaintext = Buffer.from(generated.body.data, 'utf8');
      assert.ok(verify('sha256', plaintext, pair.publicKeyPem, Buffer.from(signatureBase64, 'base64')), 'the tool signed the plaintext it returned with the given key');
      const verified = await post('/tool/signature/verify', { ...baseRequest(), publicKey: pair.publicKeyPem, signature: generated.body.signature });
      assert.deepEqual([verified.status, verified.body], [200, { isValid: true }]);
    }
    // Below 496 bits a SHA-256 signature block does not fit: such a key once answered 500.
    for (const [pair, bits] of [[underMin, limits.rsaModulusBitsMin - 8], [overMax, limits.rsaModulusBitsMax + 8]] as const) {
      const refusedPrivate = await post('/tool/signature/generate', { ...baseRequest(), privateKey: pair!.privateKeyPem });
      assertError(refusedPrivate, 400, 'INVALID_PRIVATE_KEY');
      assert.match(refusedPrivate.body.error.message, new RegExp(`${limits.rsaModulusBitsMin} to ${limits.rsaModulusBitsMax} bits .* has ${bits}$`));
    }
    const tiny = await generateRsaKeyPairPem(512);
    assertError(await post('/tool/signature/generate', { ...baseRequest(), privateKey: tiny.privateKeyPem }), 400, 'INVALID_PRIVATE_KEY');
    // Checking takes small keys (RM's verify example has a 511-bit one) but not oversized ones.
    const small = await post('/tool/signature/verify', { ...baseRequest(), publicKey: underMin!.publicKeyPem, signature: 'sha256 AAAA' });
    assert.deepEqual([small.status, small.body], [200, { isValid: false }]);
    const refusedPublic = await post('/tool/signature/verify', { ...baseRequest(), publicKey: overMax!.publicKeyPem, signature: 'sha256 AAAA' });
    assertError(refusedPublic, 400, 'INVALID_PUBLIC_KEY');
    assert.match(refusedPublic.body.error.message, new RegExp(`at most ${limits.rsaModulusBitsMax} bits .* has ${limits.rsaModulusBitsMax + 8}$`));
  });

  test(`a flood of generate requests: one signature at a time, ${limits.toolSignaturesWaitingMax} waiting, the rest 429 EXCEEDED_LIMIT; every signature made is valid`, async () => {
    const big = await generateRsaKeyPairPem(limits.rsaModulusBitsMax);
    const answers = await Promise.all(Array.from({ length: 80 }, () => post('/tool/signature/generate', { ...baseRequest(), privateKey: big.privateKeyPem })));
    const signed = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    assert.ok(signed.length >= 1 + limits.toolSignaturesWaitingMax, `at least the runner and the line were served: ${signed.length}`);
    assert.ok(refused.length > 0, 'some were refused');
    for (const answer of refused) assertError(answer, 429, 'EXCEEDED_LIMIT');
    for (const answer of signed) {
      const signature = Buffer.from(answer.body.signature.slice('sha256 '.length), 'base64');
      assert.ok(verify('sha256', Buffer.from(answer.body.data, 'utf8'), big.publicKeyPem, signature), 'a valid signature');
    }
    // Afterwards the route serves again.
    assert.equal((await post('/tool/signature/generate', { ...baseRequest(), privateKey: big.privateKeyPem })).status, 200);
  });

  test('missing required fields → 400 VALIDATION_ERROR', async () => {
    for (const field of ['method', 'nonceStr', 'signType', 'timestamp', 'privateKey']) {
      const request: Record<string, unknown> = { ...baseRequest(), privateKey: keys.privateKeyPem };
      delete request[field];
      assertError(await post('/tool/signature/generate', request), 400, 'VALIDATION_ERROR');
    }
    for (const field of ['method', 'nonceStr', 'signType', 'timestamp', 'publicKey', 'signature']) {
      const request: Record<string, unknown> = { ...baseRequest(), publicKey: keys.publicKeyPem, signature: 'sha256 AAAA' };
      delete request[field];
      assertError(await post('/tool/signature/verify', request), 400, 'VALIDATION_ERROR');
    }
    assertError(await post('/tool/signature/generate', { ...baseRequest(), privateKey: keys.privateKeyPem, timestamp: 1527407052 }), 400, 'VALIDATION_ERROR');
  });

  test('an absent body → 400 VALIDATION_ERROR', async () => {
    const res = await fetch(`${server.url}/tool/signature/generate`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'VALIDATION_ERROR');
  });

  test('signType md5 → 400 on generate and verify', async () => {
    assertError(await post('/tool/signature/generate', { ...baseRequest(), signType: 'md5', privateKey: keys.privateKeyPem }), 400, 'VALIDATION_ERROR');
    assertError(
      await post('/tool/signature/verify', { ...baseRequest(), signType: 'md5', publicKey: keys.publicKeyPem, signature: 'sha256 AAAA' }),
      400,
      'VALIDATION_ERROR',
    );
  });

  test('no auth needed: no Authorization header, and a garbage one is ignored', async () => {
    const request = { ...baseRequest(), privateKey: keys.privateKeyPem };
    const plain = await post('/tool/signature/generate', request);
    assert.equal(plain.status, 200, plain.text);
    const res = await fetch(`${server.url}/tool/signature/generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer garbage' },
      body: JSON.stringify(request),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), plain.body);
  });

  test('the tool never echoes the private key', async () => {
    const res = await post('/tool/signature/generate', { ...baseRequest(), privateKey: keys.privateKeyPem });
    assert.ok(!res.text.includes('PRIVATE KEY'));
    const keyLine = keys.privateKeyPem.split('\n')[1] ?? 'never';
    assert.ok(!res.text.includes(keyLine));
    const broken = keys.privateKeyPem.replace(keyLine, keyLine.slice(0, 20));
    const bad = await post('/tool/signature/generate', { ...baseRequest(), privateKey: broken });
    assertError(bad, 400, 'INVALID_PRIVATE_KEY');
    assert.ok(!bad.text.includes('PRIVATE KEY') && !bad.text.includes(keyLine.slice(0, 20)));
  });
});
