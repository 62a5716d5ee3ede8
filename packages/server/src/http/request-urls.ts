// The absolute URLs a client may have signed as requestUrl for this request, most likely first.
import type { FastifyRequest } from 'fastify';

/** RM's SDKs hard-code these hosts; a client pointed at tunai by DNS or proxy still signs them. */
const rmHosts = ['https://sb-open.revenuemonster.my', 'https://open.revenuemonster.my'];

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function requestUrlCandidates(request: FastifyRequest, publicUrls: readonly string[]): string[] {
  const target = request.raw.url ?? request.url;
  const queryStart = target.indexOf('?');
  const path = queryStart < 0 ? target : target.slice(0, queryStart);
  const query = queryStart < 0 ? '' : target.slice(queryStart + 1);
  const received = `${request.protocol}://${request.host}`;
  const primaryBases = [...publicUrls.map((u) => u.replace(/\/+$/, '')), received];
  const candidates: string[] = [];
  const add = (url: string) => {
    if (!candidates.includes(url)) candidates.push(url);
  };
  // Exact target first on every base, then the query variants SDKs sign (decoded, '+' as space, none).
  for (const base of [...primaryBases, ...rmHosts]) add(base + target);
  if (query) {
    const decoded = `${path}?${safeDecode(query)}`;
    const plusAsSpace = `${path}?${safeDecode(query.replace(/\+/g, ' '))}`;
    for (const base of [...primaryBases, ...rmHosts]) add(base + decoded);
    for (const base of [...primaryBases, ...rmHosts]) add(base + plusAsSpace);
    for (const base of primaryBases) add(base + path);
  }
  return candidates;
}
