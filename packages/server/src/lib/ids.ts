// Identifier and secret generation: RM-looking ids, random secrets; ids are drawn from lib/random's CSPRNG pool.
import { randomInt } from 'node:crypto';
import type { Clock } from './clock.js';
import { secureRandomBytes } from './random.js';

const alphaNumeric = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniform random string over an alphabet; rejection sampling keeps every character equally likely. */
export function randomString(length: number, alphabet: string = alphaNumeric): string {
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const byte of secureRandomBytes(length * 2)) {
      if (byte >= limit) continue;
      out.push(alphabet[byte % alphabet.length] as string);
      if (out.length === length) break;
    }
  }
  return out.join('');
}

export interface Ids {
  /** 19-digit, time-ordered numeric id (merchants, stores, users, client apps), like RM's. */
  numericId(): string;
  clientSecret(): string;
  refreshToken(): string;
  authorizationCode(): string;
  tokenId(): string;
  /** 24 digits: yyMMddHHmmss (UTC) of now, then milliseconds and a sequence, like RM's transaction ids. */
  transactionId(): string;
}

export function createIds(clock: Clock): Ids {
  let lastMs = 0;
  let lastSuffix = 0;
  let transactionSequence = 0;
  return {
    numericId(): string {
      // 13 digits of epoch ms + 6 random digits: sortable by creation time, and collisions between
      // processes in the same millisecond are one in a million (and refused by the primary key).
      const nowMs = clock.nowMs();
      let suffix = randomInt(0, 1_000_000);
      if (nowMs <= lastMs) {
        // Same (or earlier, if the clock was moved back) millisecond: stay strictly increasing in-process.
        suffix = lastSuffix + 1 + randomInt(0, 1000);
        if (suffix >= 1_000_000) {
          lastMs += 1;
          suffix = randomInt(0, 1000);
        }
      } else {
        lastMs = nowMs;
      }
      lastSuffix = suffix;
      return `${String(lastMs).padStart(13, '0')}${String(suffix).padStart(6, '0')}`;
    },
    clientSecret: () => randomString(32),
    refreshToken: () => randomString(128, letters),
    authorizationCode: () => randomString(96),
    tokenId: () => secureRandomBytes(16).toString('base64url'),
    transactionId(): string {
      const nowMs = clock.nowMs();
      const at = new Date(nowMs);
      const two = (n: number) => String(n).padStart(2, '0');
      const stamp = `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}`;
      // Within one second: milliseconds, then a per-process increasing sequence and random digits (other processes).
      transactionSequence = (transactionSequence + 1) % 1000;
      return `${stamp}${String(at.getUTCMilliseconds()).padStart(3, '0')}${String(transactionSequence).padStart(3, '0')}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
    },
  };
}
