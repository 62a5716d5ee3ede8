// The process's randomness: CSPRNG bytes drawn in pooled blocks, and uniform fractions for jitter.
import { randomFillSync } from 'node:crypto';

/** Bytes drawn from the CSPRNG at a time; asking the CSPRNG for a few bytes per id cost more than the id itself. */
const poolBytes = 8192;
/** Larger requests bypass the pool. */
const pooledRequestMax = 1024;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/**
 * `count` fresh bytes from the CSPRNG. Each call gets bytes no other call got: a used block is never refilled (the
 * next block is a new buffer), so a caller keeping its slice never sees it change.
 */
export function secureRandomBytes(count: number): Buffer {
  if (count > pooledRequestMax) return randomFillSync(Buffer.allocUnsafeSlow(count));
  if (poolOffset + count > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(poolBytes));
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + count);
  poolOffset += count;
  return bytes;
}

const fractionSteps = 2 ** 48;

/** A uniformly distributed number in [0, 1), from the CSPRNG (no Math.random, so nothing can predict the jitter). */
export function randomFraction(): number {
  return secureRandomBytes(6).readUIntBE(0, 6) / fractionSteps;
}
