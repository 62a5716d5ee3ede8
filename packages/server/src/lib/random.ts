// Uniform random fractions for jitter: the only source of non-id randomness, injected wherever it is used.
import { randomBytes } from 'node:crypto';

const fractionSteps = 2 ** 48;

/** A uniformly distributed number in [0, 1), from the CSPRNG (no Math.random, so nothing can predict the jitter). */
export function randomFraction(): number {
  return randomBytes(6).readUIntBE(0, 6) / fractionSteps;
}
