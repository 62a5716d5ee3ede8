// Which caller a request comes from, for per-caller limits: one key per IPv4 address and per IPv6 /64.
import { mappedIpv4, parseIpv4, parseIpv6 } from './outbound-url.js';

/**
 * The limit key of a peer address. An IPv4 address is its own key, also in its IPv6-mapped form (a dual-stack
 * socket's `::ffff:a.b.c.d`). An IPv6 address counts by its /64: one subscriber line is usually given a whole /64, so
 * counting single IPv6 addresses would hand each caller 2^64 keys. Anything unparseable is its own key.
 */
export function callerKey(address: string): string {
  const v4 = parseIpv4(address);
  if (v4) return v4.join('.');
  const v6 = parseIpv6(address);
  if (!v6) return address;
  const mapped = mappedIpv4(v6);
  if (mapped) return mapped.join('.');
  return `${v6
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}
