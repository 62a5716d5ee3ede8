// Unit tests for the pure webhook rules: the retry schedule with jitter, giving up, 2xx, and which outbound URLs and addresses are refused.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { limits } from '@tunai/client/contract';
import { errorExcerpt, isDelivered, nextAfterFailure, retryDelayBoundsMs, retryDelayMs, webhookAttemptsMax } from '../src/domain/outbox.js';
import {
  guardsAddresses,
  isForbiddenAddress,
  isForbiddenHostname,
  isLoopbackAddress,
  isPrivateAddress,
  isPrivateHostname,
  outboundUrlProblem,
  refusedAddressKind,
  type OutboundPolicy,
} from '../src/domain/outbound-url.js';

/** The sandbox default: link-local refused, private allowed (what `false` meant before private targets had a switch). */
const sandboxPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: true };
/** The production default (TUNAI_SANDBOX=false): both refused. */
const productionPolicy: OutboundPolicy = { allowLinkLocal: false, allowPrivate: false };
const allowEverything: OutboundPolicy = { allowLinkLocal: true, allowPrivate: true };
const linkLocalOnly: OutboundPolicy = { allowLinkLocal: true, allowPrivate: false };

describe('webhook retry schedule', () => {
  test('twelve attempts: the first plus one per documented delay', () => {
    assert.equal(limits.webhookRetryDelaysMs.length, 11);
    assert.equal(webhookAttemptsMax, 12);
  });

  test('random 0.5 gives the schedule exactly; 0 and just under 1 give the ±20 % edges', () => {
    for (const [index, baseMs] of limits.webhookRetryDelaysMs.entries()) {
      const attemptsDone = index + 1;
      assert.equal(retryDelayMs(attemptsDone, () => 0.5), baseMs);
      assert.equal(retryDelayMs(attemptsDone, () => 0), Math.round(baseMs * 0.8));
      const top = retryDelayMs(attemptsDone, () => 0.999_999_999);
      assert.ok(top <= Math.round(baseMs * 1.2) && top >= Math.round(baseMs * 1.2) - 1, `${top} is at the top edge of ${baseMs}`);
      const bounds = retryDelayBoundsMs(attemptsDone);
      assert.deepEqual(bounds, { minMs: Math.round(baseMs * 0.8), maxMs: Math.round(baseMs * 1.2) });
    }
  });

  test('jitter spreads delays across the whole band', () => {
    let seed = 1;
    const lcg = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const delays = Array.from({ length: 2_000 }, () => retryDelayMs(1, lcg));
    const { minMs, maxMs } = retryDelayBoundsMs(1);
    assert.ok(delays.every((d) => d >= minMs && d <= maxMs));
    assert.ok(Math.min(...delays) < minMs + 500 && Math.max(...delays) > maxMs - 500, 'both edges are reached');
    assert.ok(new Set(delays).size > 1_000, 'not a handful of values');
  });

  test('out-of-range attempts and random values are refused, not guessed', () => {
    assert.throws(() => retryDelayMs(0, () => 0.5), RangeError);
    assert.throws(() => retryDelayMs(12, () => 0.5), RangeError);
    assert.throws(() => retryDelayMs(1.5, () => 0.5), RangeError);
    assert.throws(() => retryDelayMs(1, () => 1), RangeError);
    assert.throws(() => retryDelayMs(1, () => -0.1), RangeError);
    assert.throws(() => retryDelayMs(1, () => Number.NaN), RangeError);
  });

  test('after a failure: the next attempt is scheduled from now, until the twelfth gives up', () => {
    const nowMs = 1_700_000_000_000;
    assert.deepEqual(nextAfterFailure(1, nowMs, () => 0.5), { status: 'PENDING', nextAttemptAtMs: nowMs + 10_000 });
    assert.deepEqual(nextAfterFailure(11, nowMs, () => 0.5), { status: 'PENDING', nextAttemptAtMs: nowMs + 57_600_000 });
    assert.deepEqual(nextAfterFailure(12, nowMs, () => 0.5), { status: 'FAILED' });
    // A re-sent FAILED event gets one more attempt, and its failure is final at once.
    assert.deepEqual(nextAfterFailure(13, nowMs, () => 0.5), { status: 'FAILED' });
  });

  test('only 2xx is delivered; redirects, errors and no answer are not', () => {
    for (const status of [200, 201, 202, 204, 299]) assert.equal(isDelivered(status), true, String(status));
    for (const status of [null, 0, 100, 199, 300, 301, 302, 304, 307, 308, 400, 404, 410, 500, 503]) assert.equal(isDelivered(status), false, String(status));
  });

  test('recorded errors are one line of at most webhookErrorCharsMax characters', () => {
    assert.equal(errorExcerpt('  HTTP 500:\n  boom\t '), 'HTTP 500: boom');
    const long = errorExcerpt('x'.repeat(10_000));
    assert.equal(long.length, limits.webhookErrorCharsMax);
    assert.ok(long.endsWith('…'));
    assert.equal(errorExcerpt('y'.repeat(limits.webhookErrorCharsMax)).length, limits.webhookErrorCharsMax);
    // A cut never splits an emoji into half a surrogate pair.
    const emoji = errorExcerpt(`${'a'.repeat(limits.webhookErrorCharsMax - 2)}😀😀`);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(emoji));
  });
});

describe('forbidden outbound addresses', () => {
  const forbidden = [
    '169.254.169.254',
    '169.254.0.1',
    '169.254.255.255',
    '100.100.100.200',
    '0.0.0.0',
    '0.1.2.3',
    '::',
    '::0',
    '0:0:0:0:0:0:0:0',
    'fe80::1',
    'FE80::1',
    'fe80::1%eth0',
    '[fe80::1]',
    'febf:ffff::1',
    'fd00:ec2::254',
    'fd00:ec2:0::254',
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:100.100.100.200',
    '::ffff:0.0.0.0',
    '::ffff:0:169.254.169.254',
    '64:ff9b::169.254.169.254',
    '64:ff9b::a9fe:a9fe',
    '::169.254.169.254',
  ];
  const allowed = [
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.1',
    '172.16.0.1',
    '192.168.1.10',
    '100.100.100.201',
    '169.253.255.255',
    '169.255.0.1',
    '8.8.8.8',
    '::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'fc00::1',
    'fd00:ec2::253',
    'fec0::1',
    '2001:db8::1',
    '2606:4700:4700::1111',
    'example.com',
    'localhost',
    '',
    '1.2.3',
    '256.1.1.1',
    '1:2:3:4:5:6:7:8:9',
    ':::1',
  ];
  for (const ip of forbidden) test(`${ip} is forbidden`, () => assert.equal(isForbiddenAddress(ip), true));
  for (const ip of allowed) test(`${ip || '(empty)'} is not a forbidden address`, () => assert.equal(isForbiddenAddress(ip), false));

  test('metadata host names are forbidden whatever their case or trailing dot', () => {
    for (const host of ['metadata.google.internal', 'METADATA.Google.Internal', 'metadata.google.internal.', 'metadata']) {
      assert.equal(isForbiddenHostname(host), true, host);
    }
    for (const host of ['metadata.example.com', 'google.internal', 'localhost', 'my-metadata']) assert.equal(isForbiddenHostname(host), false, host);
  });
});

describe('outbound URL problems', () => {
  test('plain http(s) URLs to public, private and loopback hosts are fine when private targets are allowed (sandbox)', () => {
    for (const url of [
      'https://merchant.example.com/notify',
      'http://127.0.0.1:3000/hook?x=1',
      'http://localhost/hook',
      'http://[::1]:8080/',
      'http://192.168.0.5/notify',
      'https://10.1.2.3/',
    ]) {
      assert.equal(outboundUrlProblem(url, sandboxPolicy), null, url);
    }
  });

  test('bad schemes, credentials, non-URLs and over-long URLs are refused', () => {
    assert.match(outboundUrlProblem('ftp://example.com/', sandboxPolicy) ?? '', /http or https/);
    assert.match(outboundUrlProblem('file:///etc/passwd', sandboxPolicy) ?? '', /http or https/);
    assert.match(outboundUrlProblem('javascript:alert(1)', sandboxPolicy) ?? '', /http or https/);
    assert.match(outboundUrlProblem('/relative/path', sandboxPolicy) ?? '', /absolute/);
    assert.match(outboundUrlProblem('not a url', sandboxPolicy) ?? '', /absolute/);
    assert.match(outboundUrlProblem('https://user:pass@example.com/', sandboxPolicy) ?? '', /user name or password/);
    assert.match(outboundUrlProblem('https://user@example.com/', sandboxPolicy) ?? '', /user name or password/);
    // Credentials are refused even when link-local targets are allowed.
    assert.match(outboundUrlProblem('https://user@example.com/', allowEverything) ?? '', /user name or password/);
  });

  test('length: urlCharsMax is accepted, one more is refused', () => {
    const prefix = 'https://example.com/';
    const atMax = `${prefix}${'a'.repeat(limits.urlCharsMax - prefix.length)}`;
    assert.equal(atMax.length, limits.urlCharsMax);
    assert.equal(outboundUrlProblem(atMax, sandboxPolicy), null);
    assert.match(outboundUrlProblem(`${atMax}a`, sandboxPolicy) ?? '', new RegExp(`at most ${limits.urlCharsMax}`));
  });

  test('link-local, metadata and unspecified hosts are refused in every spelling the URL parser accepts', () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.169.254./',
      'http://0xA9FEA9FE/',
      'http://2852039166/',
      'http://0251.0376.0251.0376/',
      'http://169.254.43518/',
      'http://[fe80::1]/',
      'http://[::ffff:169.254.169.254]/',
      'http://[::ffff:a9fe:a9fe]/',
      'http://[fd00:ec2::254]/',
      'http://100.100.100.200/',
      'http://0.0.0.0:8080/',
      'http://0/',
      'http://[::]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://METADATA.GOOGLE.INTERNAL./',
      'http://metadata/',
    ]) {
      assert.ok(outboundUrlProblem(url, sandboxPolicy), `${url} is refused`);
      assert.equal(outboundUrlProblem(url, allowEverything), null, `${url} is allowed when link-local is allowed`);
    }
  });
});

describe('private outbound addresses (refused unless TUNAI_OUTBOUND_ALLOW_PRIVATE, which defaults to TUNAI_SANDBOX)', () => {
  const privateAddresses = [
    // 127.0.0.0/8
    '127.0.0.0',
    '127.0.0.1',
    '127.255.255.255',
    // 10.0.0.0/8
    '10.0.0.0',
    '10.1.2.3',
    '10.255.255.255',
    // 172.16.0.0/12
    '172.16.0.0',
    '172.20.30.40',
    '172.31.255.255',
    // 192.168.0.0/16
    '192.168.0.0',
    '192.168.255.255',
    // 100.64.0.0/10 (100.100.100.200 inside it is a metadata address as well)
    '100.64.0.0',
    '100.100.100.200',
    '100.127.255.255',
    // IPv6 loopback and unique-local fc00::/7
    '::1',
    '0:0:0:0:0:0:0:1',
    '[::1]',
    'fc00::',
    'fc00::1',
    'fd00::1',
    'FD12:3456:789a::1',
    'fd00::1%eth0',
    'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fd00:ec2::254',
    // Unspecified: refused as such already, but it reaches this host, so it must not pass when only link-local is allowed.
    '0.0.0.0',
    '0.255.255.255',
    '::',
    '::ffff:0.0.0.0',
    // IPv4-in-IPv6: mapped, translated, NAT64, compatible
    '::ffff:10.0.0.1',
    '::ffff:a00:1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:172.31.255.255',
    '::ffff:192.168.1.1',
    '::ffff:100.64.0.1',
    '::ffff:0:10.0.0.1',
    '::ffff:0:127.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::ac10:1',
    '64:ff9b::192.168.0.1',
    // Local-use NAT64 (RFC 8215) reaches the operator's own IPv4 network, wherever the address sits in it.
    '64:ff9b:1::10.0.0.1',
    '64:ff9b:1::8.8.8.8',
    '::10.0.0.1',
    '::127.0.0.1',
  ];
  const notPrivate = [
    '126.255.255.255',
    '128.0.0.0',
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '8.8.8.8',
    '169.254.169.254',
    '1.0.0.0',
    '::2',
    'fe00::',
    'fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    'fe80::1',
    'fec0::1',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    '::ffff:172.32.0.0',
    '::ffff:100.128.0.0',
    '64:ff9b::8.8.8.8',
    '::8.8.8.8',
    'localhost',
    'example.com',
    '',
    '10.0.0',
    '256.0.0.1',
  ];
  for (const ip of privateAddresses) test(`${ip} is private`, () => assert.equal(isPrivateAddress(ip), true));
  for (const ip of notPrivate) test(`${ip || '(empty)'} is not private`, () => assert.equal(isPrivateAddress(ip), false));

  test('a loopback peer (the sandbox controls\' "this machine") is 127.0.0.0/8, ::1 or ::ffff:127.x only', () => {
    for (const ip of ['127.0.0.1', '127.9.8.7', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:7f00:1']) {
      assert.equal(isLoopbackAddress(ip), true, ip);
    }
    for (const ip of ['10.0.0.1', '192.168.1.1', '0.0.0.0', '::', '::2', '::ffff:10.0.0.1', '2002:7f00:1::1', '64:ff9b::127.0.0.1', 'fe80::1', '', 'localhost', '128.0.0.1']) {
      assert.equal(isLoopbackAddress(ip), false, ip);
    }
  });

  test('localhost and *.localhost are private host names whatever their case or trailing dot', () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', 'LocalHost..', 'app.localhost', 'a.b.localhost.', 'API.LocalHost']) {
      assert.equal(isPrivateHostname(host), true, host);
    }
    for (const host of ['localhost.example.com', 'mylocalhost', 'localhost-1', 'localhostx', 'example.com', '127.0.0.1', '']) {
      assert.equal(isPrivateHostname(host), false, host);
    }
  });

  test('which addresses each policy refuses, and why', () => {
    const linkLocal = 'a link-local, metadata or unspecified address';
    const privateKind = 'a private or loopback address';
    assert.equal(refusedAddressKind('10.0.0.1', productionPolicy), privateKind);
    assert.equal(refusedAddressKind('10.0.0.1', sandboxPolicy), null);
    assert.equal(refusedAddressKind('10.0.0.1', linkLocalOnly), privateKind);
    assert.equal(refusedAddressKind('169.254.169.254', productionPolicy), linkLocal);
    assert.equal(refusedAddressKind('169.254.169.254', linkLocalOnly), null);
    // Metadata inside a private range needs both allowances.
    for (const ip of ['100.100.100.200', 'fd00:ec2::254']) {
      assert.equal(refusedAddressKind(ip, productionPolicy), linkLocal, ip);
      assert.equal(refusedAddressKind(ip, sandboxPolicy), linkLocal, ip);
      assert.equal(refusedAddressKind(ip, linkLocalOnly), privateKind, ip);
      assert.equal(refusedAddressKind(ip, allowEverything), null, ip);
    }
    // Unspecified addresses reach this host: allowing link-local alone does not let them through.
    for (const ip of ['0.0.0.0', '::']) {
      assert.equal(refusedAddressKind(ip, sandboxPolicy), linkLocal, ip);
      assert.equal(refusedAddressKind(ip, linkLocalOnly), privateKind, ip);
      assert.equal(refusedAddressKind(ip, allowEverything), null, ip);
    }
    for (const policy of [productionPolicy, sandboxPolicy, linkLocalOnly, allowEverything]) assert.equal(refusedAddressKind('8.8.8.8', policy), null);
  });

  test('host names are resolved and checked unless every range is allowed', () => {
    assert.equal(guardsAddresses(productionPolicy), true);
    assert.equal(guardsAddresses(sandboxPolicy), true);
    assert.equal(guardsAddresses(linkLocalOnly), true);
    assert.equal(guardsAddresses(allowEverything), false);
  });

  test('private, loopback and localhost URLs are refused in every spelling the URL parser accepts, allowed with private targets allowed', () => {
    for (const [url, host] of [
      ['http://127.0.0.1:3000/hook?x=1', '127.0.0.1'],
      ['http://127.1/', '127.0.0.1'],
      ['http://0x7f000001/', '127.0.0.1'],
      ['http://2130706433/', '127.0.0.1'],
      ['http://10.1.2.3/', '10.1.2.3'],
      ['http://012.1.2.3/', '10.1.2.3'],
      ['https://172.16.0.1/', '172.16.0.1'],
      ['http://172.31.255.255/', '172.31.255.255'],
      ['http://192.168.0.5/notify', '192.168.0.5'],
      ['http://100.64.0.1/', '100.64.0.1'],
      ['http://[::1]:8080/', '[::1]'],
      ['http://[fd00::1]/', '[fd00::1]'],
      ['http://[fc00::]/', '[fc00::]'],
      ['http://[::ffff:10.0.0.1]/', '[::ffff:a00:1]'],
      ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
      ['http://[::ffff:0:10.0.0.1]/', '[::ffff:0:a00:1]'],
      ['http://[64:ff9b::10.0.0.1]/', '[64:ff9b::a00:1]'],
    ] as const) {
      assert.equal(outboundUrlProblem(url, productionPolicy), `must not point at a private or loopback address (${host})`, url);
      assert.equal(outboundUrlProblem(url, linkLocalOnly), `must not point at a private or loopback address (${host})`, url);
      assert.equal(outboundUrlProblem(url, sandboxPolicy), null, url);
    }
    for (const [url, host] of [
      ['http://localhost/hook', 'localhost'],
      ['http://LOCALHOST./', 'localhost.'],
      ['http://app.localhost:3000/notify', 'app.localhost'],
    ] as const) {
      assert.equal(outboundUrlProblem(url, productionPolicy), `must not point at a loopback host (${host})`, url);
      assert.equal(outboundUrlProblem(url, sandboxPolicy), null, url);
    }
  });

  test('public targets next to the private ranges stay allowed with private targets refused', () => {
    for (const url of [
      'https://merchant.example.com/notify',
      'http://172.15.255.255/',
      'http://172.32.0.0/',
      'http://100.63.255.255/',
      'http://100.128.0.0/',
      'http://11.0.0.0/',
      'http://[2001:db8::1]/',
      'http://[fe00::]/',
      'http://localhost.example.com/',
    ]) {
      assert.equal(outboundUrlProblem(url, productionPolicy), null, url);
    }
  });

  test('the two allowances are independent: link-local allowed does not allow private, and the reverse', () => {
    assert.equal(outboundUrlProblem('http://169.254.169.254/', linkLocalOnly), null);
    assert.equal(outboundUrlProblem('http://metadata.google.internal/', linkLocalOnly), null);
    assert.match(outboundUrlProblem('http://100.100.100.200/', linkLocalOnly) ?? '', /private or loopback address/);
    assert.match(outboundUrlProblem('http://[fd00:ec2::254]/', linkLocalOnly) ?? '', /private or loopback address/);
    assert.match(outboundUrlProblem('http://0.0.0.0:8080/', linkLocalOnly) ?? '', /private or loopback address/);
    assert.match(outboundUrlProblem('http://[::]:8080/', linkLocalOnly) ?? '', /private or loopback address/);
    assert.match(outboundUrlProblem('http://100.100.100.200/', sandboxPolicy) ?? '', /link-local, metadata or unspecified address/);
    assert.match(outboundUrlProblem('http://169.254.169.254/', productionPolicy) ?? '', /link-local, metadata or unspecified address/);
    assert.match(outboundUrlProblem('http://metadata/', productionPolicy) ?? '', /cloud metadata host/);
  });
});
