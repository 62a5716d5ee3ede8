// Money formatting: integer minor units to RM's two-decimal text, with integer arithmetic only.
import { strict as assert } from 'node:assert';

/** 12345 → "123.45", -5 → "-0.05"; the input must be a safe integer (minor units, never a float). */
export function formatMinorUnits(amountMinor: number): string {
  assert.ok(Number.isSafeInteger(amountMinor), `amount must be an integer number of minor units, got ${amountMinor}`);
  const sign = amountMinor < 0 ? '-' : '';
  const absolute = Math.abs(amountMinor);
  const major = Math.trunc(absolute / 100);
  const minor = absolute % 100;
  return `${sign}${major}.${String(minor).padStart(2, '0')}`;
}
