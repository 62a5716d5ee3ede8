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

/** Six random digits follow a numeric id's epoch milliseconds. */
const numericSuffixValues = 1_000_000;

/** Three digits of a transaction id number the ids of one millisecond. */
const transactionSequenceValues = 1000;

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
  /** The millisecond and sequence number the last transaction id carries. */
  let transactionMs = 0;
  let transactionSequence = 0;
  return {
    numericId(): string {
      // 13 digits of epoch ms + 6 random digits: sortable by creation time. Two processes drawing in the same
      // millisecond collide one time in a million; the primary key refuses the second insert and its transaction
      // runs again with a fresh draw (Storage.transaction).
      const nowMs = clock.nowMs();
      let suffix = randomInt(0, numericSuffixValues);
      if (nowMs <= lastMs) {
        // Same (or earlier, if the clock was moved back) millisecond: stay strictly increasing in-process, with
        // the suffix drawn anywhere above the last one, so an id does not give away its successor (a checkout id
        // is all a payer page asks for). When fewer than a thousand values are left, the next millisecond is borrowed.
        if (lastSuffix < numericSuffixValues - 1_000) {
          suffix = randomInt(lastSuffix + 1, numericSuffixValues);
        } else {
          lastMs += 1;
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
      // Strictly increasing within the process, even when the clock stands still (tests, the sandbox's manual
      // clock) or steps back: once a millisecond's sequence runs out, the next millisecond is borrowed.
      const nowMs = clock.nowMs();
      if (nowMs > transactionMs) {
        transactionMs = nowMs;
        // A random start in the lower half, so two processes in the same millisecond rarely share a sequence too.
        transactionSequence = randomInt(0, transactionSequenceValues / 2);
      } else if (transactionSequence + 1 < transactionSequenceValues) {
        transactionSequence += 1;
      } else {
        transactionMs += 1;
        transactionSequence = 0;
      }
      const at = new Date(transactionMs);
      const two = (n: number) => String(n).padStart(2, '0');
      const stamp = `${two(at.getUTCFullYear() % 100)}${two(at.getUTCMonth() + 1)}${two(at.getUTCDate())}${two(at.getUTCHours())}${two(at.getUTCMinutes())}${two(at.getUTCSeconds())}`;
      // Then milliseconds, the sequence, and random digits (ids from other processes in the same millisecond).
      return `${stamp}${String(at.getUTCMilliseconds()).padStart(3, '0')}${String(transactionSequence).padStart(3, '0')}${String(randomInt(0, 1_000_000)).padStart(6, '0')}`;
    },
  };
}
