// Which outbound URLs tunai may call (notifyUrl): http(s) only, no credentials; link-local, metadata and private targets by policy (pure).
import { limits } from '@tunai/client/contract';

/**
 * Which guarded address ranges outbound calls (notify webhooks) may reach. Both default to refusing in production:
 * TUNAI_OUTBOUND_ALLOW_LINK_LOCAL (default false) and TUNAI_OUTBOUND_ALLOW_PRIVATE (default TUNAI_SANDBOX).
 */
export interface OutboundPolicy {
  /** Link-local, cloud metadata and unspecified addresses, and metadata host names (isForbiddenAddress, isForbiddenHostname). */
  allowLinkLocal: boolean;
  /** Loopback, RFC 1918, carrier-grade NAT, unique-local and other non-public addresses, and localhost names (isPrivateAddress, isPrivateHostname). */
  allowPrivate: boolean;
}

/** True when some address may be refused, so host names must be resolved and checked before connecting. */
export function guardsAddresses(policy: OutboundPolicy): boolean {
  return !policy.allowLinkLocal || !policy.allowPrivate;
}

/** Host names that reach a cloud metadata service without naming its address. */
const forbiddenHostnames = new Set(['metadata.google.internal', 'metadata']);

/** Cloud metadata services that do not live in link-local space (Alibaba Cloud; AWS over IPv6). */
const metadataIpv4 = [[100, 100, 100, 200]] as const;
const metadataIpv6 = ['fd00:ec2::254'] as const;

/** Parses a dotted-quad IPv4 address strictly (four decimal octets); null for anything else. */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    octets.push(value);
  }
  return octets;
}

/** Parses an IPv6 address (with `::` and an optional dotted IPv4 tail) into eight 16-bit groups; null when malformed. */
export function parseIpv6(text: string): number[] | null {
  let rest = text;
  if (rest.startsWith('[') && rest.endsWith(']')) rest = rest.slice(1, -1);
  // A zone (fe80::1%eth0) scopes the address to an interface; it does not change which range it is in.
  const zone = rest.indexOf('%');
  if (zone >= 0) rest = rest.slice(0, zone);
  if (!rest.includes(':')) return null;
  let tail: number[] = [];
  const lastColon = rest.lastIndexOf(':');
  const last = rest.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIpv4(last);
    if (!v4) return null;
    tail = [((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number)];
    rest = rest.slice(0, lastColon + 1);
    // "::1.2.3.4" leaves "::", "a::1.2.3.4" leaves "a::", "a:b:…:1.2.3.4" leaves "a:b:…:" (drop that colon).
    if (!rest.endsWith('::')) rest = rest.slice(0, -1);
  }
  const halves = rest.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const group of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
      groups.push(parseInt(group, 16));
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '');
  if (!head) return null;
  if (halves.length === 1) {
    const all = [...head, ...tail];
    return all.length === 8 ? all : null;
  }
  const after = groupsOf(halves[1] ?? '');
  if (!after) return null;
  const known = head.length + after.length + tail.length;
  if (known > 7) return null;
  return [...head, ...new Array<number>(8 - known).fill(0), ...after, ...tail];
}

function forbiddenIpv4(octets: readonly number[]): boolean {
  const [a, b] = octets;
  // 0.0.0.0/8 is "this network": connecting to 0.0.0.0 reaches the host itself on most systems.
  if (a === 0) return true;
  // 169.254.0.0/16 is link-local, home of the AWS/GCP/Azure metadata service (169.254.169.254).
  if (a === 169 && b === 254) return true;
  return metadataIpv4.some((m) => m.every((octet, i) => octets[i] === octet));
}

/**
 * Private networks: loopback 127.0.0.0/8, RFC 1918 (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) and carrier-grade NAT
 * 100.64.0.0/10 (which also holds the 100.100.100.200 metadata service, refused as metadata already). 0.0.0.0/8 is
 * counted too: it is refused as unspecified already, but connecting to it reaches this host, so allowing link-local
 * targets must not open loopback through it. So are the ranges that are never public but that networks do use inside
 * (GKE, for one, hands them out as private): benchmarking 198.18.0.0/15 and reserved 240.0.0.0/4 (with the broadcast
 * address), and multicast 224.0.0.0/4 next to them (TCP cannot reach it; refused rather than attempted).
 */
function privateIpv4(octets: readonly number[]): boolean {
  const [a, b] = octets as [number, number];
  if (a === 127 || a === 10 || a === 0) return true;
  if (a === 172 && b >= 16 && b <= 31) return true;
  if (a === 192 && b === 168) return true;
  if (a === 198 && (b === 18 || b === 19)) return true;
  if (a >= 224) return true;
  return a === 100 && b >= 64 && b <= 127;
}

/** The IPv4 address in an IPv4-mapped IPv6 address (::ffff:a.b.c.d, a dual-stack socket's form of an IPv4 peer), or null. */
export function mappedIpv4(groups: readonly number[]): number[] | null {
  if (!groups.slice(0, 5).every((x) => x === 0) || groups[5] !== 0xffff) return null;
  const g6 = groups[6] as number;
  const g7 = groups[7] as number;
  return [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
}

/**
 * The IPv4 address an IPv6 address leads to, or null: mapped (::ffff:a.b.c.d), translated (::ffff:0:a.b.c.d), NAT64
 * (64:ff9b::a.b.c.d), the deprecated compatible form (::a.b.c.d) and 6to4 (2002:aabb:ccdd::/48, tunnelled to a.b.c.d)
 * all reach the IPv4 address, so they are judged by it.
 */
function embeddedIpv4(groups: readonly number[]): number[] | null {
  const g = (i: number) => groups[i] as number;
  const zeroUpTo = (n: number) => groups.slice(0, n).every((x) => x === 0);
  if (g(0) === 0x2002) return [g(1) >> 8, g(1) & 0xff, g(2) >> 8, g(2) & 0xff];
  const mapped = mappedIpv4(groups);
  if (mapped) return mapped;
  const embedded = [g(6) >> 8, g(6) & 0xff, g(7) >> 8, g(7) & 0xff];
  if (zeroUpTo(4) && g(4) === 0xffff && g(5) === 0) return embedded;
  if (g(0) === 0x64 && g(1) === 0xff9b && groups.slice(2, 6).every((x) => x === 0)) return embedded;
  // The compatible form only when it really embeds an address: ::1 is IPv6 loopback, not 0.0.0.1.
  if (zeroUpTo(6) && g(6) !== 0) return embedded;
  return null;
}

function forbiddenIpv6(groups: readonly number[]): boolean {
  // :: (unspecified) reaches the host itself, like 0.0.0.0.
  if (groups.every((x) => x === 0)) return true;
  // fe80::/10 is link-local.
  if (((groups[0] as number) & 0xffc0) === 0xfe80) return true;
  if (metadataIpv6.some((m) => (parseIpv6(m) as number[]).every((x, i) => x === groups[i]))) return true;
  const embedded = embeddedIpv4(groups);
  return embedded !== null && forbiddenIpv4(embedded);
}

function privateIpv6(groups: readonly number[]): boolean {
  // ::1 is loopback; :: (unspecified) reaches this host as well.
  if (groups.slice(0, 7).every((x) => x === 0) && (groups[7] === 1 || groups[7] === 0)) return true;
  // fc00::/7 is unique-local (fc00::/8 and fd00::/8).
  if (((groups[0] as number) & 0xfe00) === 0xfc00) return true;
  // ff00::/8 is multicast, like 224.0.0.0/4.
  if (((groups[0] as number) & 0xff00) === 0xff00) return true;
  // 64:ff9b:1::/48 is NAT64 for local use (RFC 8215): it translates into the operator's own IPv4 network, at a prefix
  // length only that network knows, so the IPv4 address it reaches cannot be read from it. Refused as private.
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups[2] === 1) return true;
  const embedded = embeddedIpv4(groups);
  return embedded !== null && privateIpv4(embedded);
}

/** Judges an IP address text by the test for its family; anything that is not an IP address is false. */
function addressIs(ip: string, ipv4: (octets: readonly number[]) => boolean, ipv6: (groups: readonly number[]) => boolean): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return ipv4(v4);
  const v6 = parseIpv6(ip);
  return v6 !== null && ipv6(v6);
}

/**
 * True for addresses tunai never calls unless told to: link-local (169.254.0.0/16, fe80::/10), cloud metadata
 * (169.254.169.254, 100.100.100.200, fd00:ec2::254), unspecified (0.0.0.0/8, ::) and IPv4-in-IPv6 forms of those.
 * Loopback and private ranges are a separate allowance (isPrivateAddress): sandbox users run receivers there.
 * Anything that is not an IP address is not forbidden here (host names are judged by outboundUrlProblem and DNS).
 */
export function isForbiddenAddress(ip: string): boolean {
  return addressIs(ip, forbiddenIpv4, forbiddenIpv6);
}

/**
 * True for private-network addresses: IPv4 loopback (127.0.0.0/8), RFC 1918 (10.0.0.0/8, 172.16.0.0/12,
 * 192.168.0.0/16), carrier-grade NAT (100.64.0.0/10), benchmarking (198.18.0.0/15), multicast, reserved and broadcast
 * (224.0.0.0/3, ff00::/8), IPv6 loopback (::1), unique-local (fc00::/7), the unspecified addresses that reach this host
 * (0.0.0.0/8, ::) and the IPv4-in-IPv6 forms (6to4 included) of the IPv4 ranges. Refused unless the
 * policy allows private targets (sandbox mode does): a failed delivery's answer is shown to the merchant, so it must
 * not become a window onto internal services.
 */
export function isPrivateAddress(ip: string): boolean {
  return addressIs(ip, privateIpv4, privateIpv6);
}

/**
 * True for this host's own loopback, as a socket's peer address reads: 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into
 * IPv6 (::ffff:127.0.0.1, a dual-stack socket's form). Narrower than isPrivateAddress: only a peer on this machine.
 */
export function isLoopbackAddress(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return v4[0] === 127;
  const v6 = parseIpv6(ip);
  if (!v6) return false;
  if (v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1) return true;
  return mappedIpv4(v6)?.[0] === 127;
}

function normalisedHostname(hostname: string): string {
  return hostname.toLowerCase().replace(/\.+$/, '');
}

/** Host names that lead to a metadata service by name (case and a trailing dot do not matter). */
export function isForbiddenHostname(hostname: string): boolean {
  return forbiddenHostnames.has(normalisedHostname(hostname));
}

/** `localhost` and every `*.localhost` name (RFC 6761: always loopback), whatever their case or trailing dot. */
export function isPrivateHostname(hostname: string): boolean {
  const name = normalisedHostname(hostname);
  return name === 'localhost' || name.endsWith('.localhost');
}

/** Why the policy refuses this resolved address (a phrase naming its kind), or null when it may be called. */
export function refusedAddressKind(ip: string, policy: OutboundPolicy): string | null {
  if (!policy.allowLinkLocal && isForbiddenAddress(ip)) return 'a link-local, metadata or unspecified address';
  if (!policy.allowPrivate && isPrivateAddress(ip)) return 'a private or loopback address';
  return null;
}

/**
 * Why an outbound URL is unacceptable, or null when tunai may call it. Checks the text only: a host name that
 * resolves to a refused address is refused at connection time (webhooks/outbound-http.ts), where DNS is known.
 */
export function outboundUrlProblem(url: string, policy: OutboundPolicy): string | null {
  if (url.length > limits.urlCharsMax) return `must be at most ${limits.urlCharsMax} characters`;
  if (!URL.canParse(url)) return 'must be an absolute http(s) URL';
  // WHATWG parsing normalises hosts (0xA9FEA9FE and 2852039166 both become 169.254.169.254), so the check sees the real address.
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must use http or https';
  if (parsed.username !== '' || parsed.password !== '') return 'must not contain a user name or password';
  if (parsed.hostname === '') return 'must name a host';
  const kind = refusedAddressKind(parsed.hostname, policy);
  if (kind !== null) return `must not point at ${kind} (${parsed.hostname})`;
  if (!policy.allowLinkLocal && isForbiddenHostname(parsed.hostname)) return `must not point at a cloud metadata host (${parsed.hostname})`;
  if (!policy.allowPrivate && isPrivateHostname(parsed.hostname)) return `must not point at a loopback host (${parsed.hostname})`;
  return null;
}

/**
 * Which receiver a notify URL reaches, for the per-receiver cap on deliveries in flight: its origin (scheme, host and
 * port), so one dead host holds at most its share of the slots however many paths or query strings its URLs carry.
 */
export function receiverOf(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? url : origin;
  } catch {
    return url;
  }
}
