// Invariant assertions: a broken invariant is a bug, never an expected outcome; it fails loudly.
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}
