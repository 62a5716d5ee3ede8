// Signs an outgoing notify callback as RM does (X-Signature over data/method/nonceStr/signType/timestamp, no requestUrl).
import type { KeyObject } from 'node:crypto';
import { signRequest } from '@tunai/client/signature';

export interface CallbackSigningInput {
  /** The stable event id, sent as X-Tunai-Event-Id so receivers can drop duplicates (delivery is at least once). */
  eventId: string;
  /** The exact body text sent; the signature covers its Go canonical form, which is what the receiver recomputes. */
  body: string;
  privateKey: KeyObject;
  /** 32 random letters and digits, fresh for every attempt. */
  nonceStr: string;
  /** The attempt's time (epoch ms); sent in seconds, as RM's Go server does. */
  nowMs: number;
}

/** The headers of one delivery attempt; the body bytes never change between attempts, the nonce and timestamp do. */
export function callbackHeaders(input: CallbackSigningInput): Record<string, string> {
  const timestamp = String(Math.floor(input.nowMs / 1000));
  // Go drops empty pairs, so an empty requestUrl leaves it out: callbacks are signed without one (rm-wire-compat §4).
  const { signature } = signRequest({
    body: JSON.parse(input.body) as unknown,
    method: 'post',
    requestUrl: '',
    nonceStr: input.nonceStr,
    timestamp,
    privateKey: input.privateKey,
  });
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'tunai-webhooks',
    'X-Signature': signature,
    'X-Nonce-Str': input.nonceStr,
    'X-Timestamp': timestamp,
    'X-Tunai-Event-Id': input.eventId,
  };
}
