// Scope rules: what a token may carry and whether it covers a route's requirement.
import { isScope, type Scope } from '@tunai/client/contract';

/** Parses RM's comma-separated scope parameter; null when any entry is unknown or it is empty. */
export function parseScopeList(text: string): Scope[] | null {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) return null;
  const scopes: Scope[] = [];
  for (const part of parts) {
    if (!isScope(part)) return null;
    if (!scopes.includes(part)) scopes.push(part);
  }
  return scopes;
}

export function grantedScopes(requested: readonly Scope[], allowed: readonly Scope[]): Scope[] | null {
  return requested.every((s) => allowed.includes(s)) ? [...requested] : null;
}

export function hasScope(held: readonly Scope[], required: Scope): boolean {
  return held.includes(required);
}
