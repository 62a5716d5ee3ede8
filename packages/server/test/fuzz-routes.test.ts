// Every route under random input: authenticated, correctly signed requests whose bodies, queries and path ids are
// valid templates with random mutations, so the input reaches each handler's validation and use case. Nothing may
// answer 5xx, every API error carries the catalog envelope, and the ledger stays balanced whatever was paid,
// refunded or reversed along the way.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorMessages, type CreateCheckoutRequest } from '@tunai/client/contract';
import { checkLedger } from '../src/app/check-ledger.js';
import { createDeveloper, forEachDialect, qrCodeInput, rawRequest, seededRandom, startTestServer, storeInput, type Developer, type TestServer } from './harness.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Known {
  storeId: string;
  otherStoreId: string;
  transactionId: string;
  otherTransactionId: string;
  orderId: string;
  qrCode: string;
  checkoutId: string;
}

/** FUZZ_REQUESTS and FUZZ_SEED widen a hunt by hand (FUZZ_VERBOSE=1 prints what each route answered); the defaults are what CI runs. */
const requestsPerDialect = Number(process.env.FUZZ_REQUESTS ?? 600);
const baseSeed = Number(process.env.FUZZ_SEED ?? 0xf022);

forEachDialect('every route under random input', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  let other: Developer;
  const known = {} as Known;
  let orderSerial = 0;
  const nextOrderId = () => `fz${dialect.slice(0, 2)}${Date.now().toString(36)}${(orderSerial++).toString(36)}`;
  const order = (id: string, amount = 1_000) => ({ id, title: 'Kopi', detail: 'd', additionalData: 'a', currencyType: 'MYR' as const, amount });
  const checkoutInput = (type: 'WEB_PAYMENT' | 'MOBILE_PAYMENT'): CreateCheckoutRequest => ({
    order: order(nextOrderId(), 1_250),
    method: [],
    type,
    storeId: known.storeId,
    redirectUrl: 'https://shop.example/return',
    notifyUrl: 'https://shop.example/notify',
    layoutVersion: 'v1',
  });

  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Fuzzed' });
    other = await createDeveloper(server, { companyName: 'Neighbour' });
    known.storeId = dev.merchant.store.id;
    known.otherStoreId = other.merchant.store.id;
    known.orderId = nextOrderId();
    known.transactionId = (
      await dev.client.payment.quickPay({ authCode: '134850717797240000', storeId: known.storeId, ipAddress: '127.0.0.1', order: order(known.orderId) })
    ).item.transactionId;
    known.otherTransactionId = (
      await other.client.payment.quickPay({ authCode: '801234567890120000', storeId: known.otherStoreId, ipAddress: '127.0.0.1', order: order(nextOrderId()) })
    ).item.transactionId;
    known.qrCode = (await dev.client.payment.createQrCode(qrCodeInput(known.storeId))).item.code;
    known.checkoutId = (await dev.client.payment.createCheckout(checkoutInput('WEB_PAYMENT'))).item.checkoutId;
  });
  after(() => server.close());

  test(`${requestsPerDialect} mutated, signed requests across every route: never 5xx, errors in the catalog envelope, the ledger balanced`, async () => {
    const seed = baseSeed + (dialect === 'postgres' ? 1 : 0);
    const random = seededRandom(seed);
    const int = (max: number) => Math.floor(random() * max);
    const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;

    const strings = ['', ' ', 'x', 'A<B> & C\'s 服务费', '\u0000', '\ud800', '%ZZ', '𝕏', 'a'.repeat(300), '"', '\\', '__proto__', 'null', '{}', '1e309',
      '-1', '0', '2026-13-45', '2026-11-22T00:00:00Z', 'MYR', 'USD', 'FULL', 'PARTIAL', 'SUCCESS', 'ALL', 'MALAYSIA', 'TNG_MY', 'WECHATPAY_CN', 'URL', 'QRCODE',
      'PERMANENT', 'EXPIRY', 'DYNAMIC', 'STATIC', 'WEB_PAYMENT', 'MOBILE_PAYMENT', '134850717797241001', '803333333333332001', '25000000000000009999'];
    const numbers = [0, -1, 1, 0.5, 99, 100, 1_000, 1_001, 2 ** 31, 2 ** 53 + 1, 1e308, -1e-308, 91, -181, 86_400];
    const leaf = (): Json => {
      switch (int(5)) {
        case 0: return null;
        case 1: return random() < 0.5;
        case 2: return pick(numbers);
        case 3: return [];
        default: return pick(strings);
      }
    };
    const randomValue = (depth: number): Json => {
      if (depth > 2 || random() < 0.6) return leaf();
      if (random() < 0.5) return Array.from({ length: int(4) }, () => randomValue(depth + 1));
      return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(['id', 'type', 'amount', 'method', 'order', 'x', '']), randomValue(depth + 1)]));
    };
    const ids = (): Json => pick([known.storeId, known.otherStoreId, known.transactionId, known.otherTransactionId, known.orderId, known.qrCode, known.checkoutId, 'x', '']);

    /** Replaces, removes or adds one field somewhere in the template. */
    const mutate = (value: Json): Json => {
      if (value === null || typeof value !== 'object') return random() < 0.3 ? ids() : randomValue(0);
      const copy: Json = Array.isArray(value) ? [...value] : { ...value };
      const keys = Object.keys(copy);
      const roll = int(10);
      if (keys.length === 0 || roll === 0) {
        if (Array.isArray(copy)) copy.push(randomValue(1));
        else copy[pick(['id', 'extra', 'amount', 'type', '__proto__', 'constructor'])] = randomValue(1);
        return copy;
      }
      const key = pick(keys);
      if (roll === 1) {
        if (Array.isArray(copy)) copy.splice(Number(key), 1);
        else delete copy[key];
        return copy;
      }
      (copy as Record<string, Json>)[key] = mutate((copy as Record<string, Json>)[key] as Json);
      return copy;
    };
    const mutated = (template: Json): Json => {
      let value = template;
      for (let count = int(3); count >= 0; count--) value = mutate(value);
      return value;
    };

    const bodies: Record<string, () => Json> = {
      'POST /v3/store': () => storeInput(`Fuzz ${int(1_000)}`) as unknown as Json,
      'PATCH /v3/store/:id': () => storeInput(`Fuzz ${int(1_000)}`) as unknown as Json,
      'POST /v3/payment/quickpay': () => ({
        authCode: pick(['134850717797240000', '803333333333330000', '2500000000000000001001', '134850717797242001', '814444444444441002']).replace(/\d{4}$/, () => pick(['0000', '1001', '2001', '3001', '9999'])),
        storeId: known.storeId,
        ipAddress: '127.0.0.1',
        order: order(nextOrderId(), pick([1, 100, 1_000, 99_999])),
      }),
      'POST /v3/payment/refund': () => ({
        transactionId: pick([known.transactionId, known.otherTransactionId]),
        refund: { type: pick(['FULL', 'PARTIAL']), currencyType: 'MYR', amount: pick([1, 100, 999, 1_000, 1_001]) },
        reason: 'fuzz',
      }),
      'POST /v3/payment/reverse': () => ({ orderId: known.orderId }),
      'POST /v3/payment/settlement/csv': () => ({ date: '2026-11-22', method: 'ALL', region: 'MALAYSIA', sequence: 1 }),
      'POST /v3/payment/transaction/qrcode': () => qrCodeInput(known.storeId, pick(['DYNAMIC', 'STATIC'] as const)) as unknown as Json,
      'POST /v3/payment/online': () => checkoutInput(pick(['WEB_PAYMENT', 'MOBILE_PAYMENT'] as const)) as unknown as Json,
      'POST /v3/payment/online/checkout': () => ({ checkoutId: known.checkoutId, type: pick(['URL', 'QRCODE']), method: pick(['TNG_MY', 'WECHATPAY_CN', 'FPX_MY']) }),
      'POST /v1/token': () => ({ grantType: 'client_credentials' }),
      'POST /tool/signature/generate': () => ({ data: { a: 1 }, method: 'post', nonceStr: 'abc', privateKey: dev.privateKeyPem, requestUrl: 'https://x', signType: 'sha256', timestamp: '1' }),
      'POST /tool/signature/verify': () => ({ data: { a: 1 }, method: 'post', nonceStr: 'abc', publicKey: dev.publicKeyPem, requestUrl: 'https://x', signType: 'sha256', timestamp: '1', signature: 'AAAA' }),
      'POST /sandbox/clock': () => ({ advanceSeconds: pick([1, 5, 60]) }),
    };
    const queryKeys = ['limit', 'cursor', 'filter', 'order[]', 'checkoutId', 'method', 'status', 'code', 'x'];
    const queryValues = (): string =>
      pick(['', '0', '1', '100', '101', '-1', 'abc', '%ZZ', '{}', '{"status":"SUCCESS"}', '{"transactionAt":{"$gte":"x"}}', '{"method":["TNG"]}', 'a'.repeat(600),
        known.checkoutId, 'TNG_MY', 'FPX_MY', 'SUCCESS', 'createdAt', '-createdAt']);
    const query = (): string => {
      const count = int(4);
      if (count === 0) return '';
      return `?${Array.from({ length: count }, () => `${encode(pick(queryKeys))}=${random() < 0.9 ? encode(queryValues()) : '%E0%A4%A'}`).join('&')}`;
    };
    /** A lone surrogate cannot be percent-encoded as UTF-8, so it goes on the wire as the bytes of one (invalid UTF-8). */
    const encode = (text: string): string => {
      try {
        return encodeURIComponent(text);
      } catch {
        return '%ED%A0%80';
      }
    };
    const pathId = (): string => encode(String(random() < 0.7 ? ids() : pick(strings)) || 'x');

    const signedRoutes: { method: string; path: () => string; bodyKey?: string }[] = [
      { method: 'GET', path: () => '/v3/merchant' },
      { method: 'GET', path: () => '/v3/merchant/subscriptions' },
      { method: 'GET', path: () => '/v3/user' },
      { method: 'GET', path: () => `/v3/stores${query()}` },
      { method: 'POST', path: () => '/v3/store', bodyKey: 'POST /v3/store' },
      { method: 'GET', path: () => `/v3/store/${pathId()}` },
      { method: 'PATCH', path: () => `/v3/store/${pathId()}`, bodyKey: 'PATCH /v3/store/:id' },
      { method: 'DELETE', path: () => `/v3/store/${pathId()}` },
      { method: 'POST', path: () => '/v3/payment/quickpay', bodyKey: 'POST /v3/payment/quickpay' },
      { method: 'POST', path: () => '/v3/payment/refund', bodyKey: 'POST /v3/payment/refund' },
      { method: 'POST', path: () => '/v3/payment/reverse', bodyKey: 'POST /v3/payment/reverse' },
      { method: 'POST', path: () => '/v3/payment/settlement/csv', bodyKey: 'POST /v3/payment/settlement/csv' },
      { method: 'GET', path: () => `/v3/payment/transactions${query()}` },
      { method: 'GET', path: () => `/v3/payment/transaction/${pathId()}` },
      { method: 'GET', path: () => `/v3/payment/transaction/order/${pathId()}` },
      { method: 'POST', path: () => '/v3/payment/transaction/qrcode', bodyKey: 'POST /v3/payment/transaction/qrcode' },
      { method: 'GET', path: () => `/v3/payment/transaction/qrcodes${query()}` },
      { method: 'GET', path: () => `/v3/payment/transaction/qrcode/${pathId()}` },
      { method: 'GET', path: () => `/v3/payment/transaction/qrcode/${pathId()}/transactions${query()}` },
      { method: 'POST', path: () => '/v3/payment/online', bodyKey: 'POST /v3/payment/online' },
      { method: 'GET', path: () => `/v3/payment/online${query()}` },
      { method: 'GET', path: () => `/v3/payment/online/qrcode${query()}` },
      { method: 'POST', path: () => '/v3/payment/online/checkout', bodyKey: 'POST /v3/payment/online/checkout' },
      { method: 'GET', path: () => '/v3/payment/fpx-bank' },
      { method: 'GET', path: () => `/admin/webhooks${query()}` },
      { method: 'GET', path: () => `/admin/webhooks/${pathId()}` },
      { method: 'POST', path: () => `/admin/webhooks/${pathId()}/resend` },
      { method: 'POST', path: () => '/tool/signature/generate', bodyKey: 'POST /tool/signature/generate' },
      { method: 'POST', path: () => '/tool/signature/verify', bodyKey: 'POST /tool/signature/verify' },
    ];
    const pages: { method: 'GET' | 'POST'; path: () => string; form?: () => string }[] = [
      { method: 'GET', path: () => `/authorize${query()}&responseType=code&clientId=${dev.clientId}&redirectUri=${pick(['', 'https%3A%2F%2Fx', '%ZZ'])}&scope=${pick(['', 'manage_payment', 'x,y'])}` },
      { method: 'GET', path: () => `/checkout?checkoutId=${pathId()}` },
      { method: 'GET', path: () => `/checkout/status?checkoutId=${pathId()}` },
      { method: 'POST', path: () => '/checkout/pay', form: () => `checkoutId=${pathId()}&method=${pick(['TNG_MY', 'FPX_MY', 'x', ''])}` },
      { method: 'POST', path: () => '/checkout/cancel', form: () => `checkoutId=${pathId()}` },
      { method: 'GET', path: () => `/payment/unified?code=${pathId()}` },
      { method: 'POST', path: () => '/payment/unified/pay', form: () => `code=${pathId()}&method=${pick(['TNG_MY', 'x'])}&amount=${pick(['', '1', '-1', '1e999', 'abc', '500'])}` },
      { method: 'GET', path: () => `/payment/unified/status?code=${pathId()}&transactionId=${pathId()}` },
      { method: 'GET', path: () => `/payment/unified/result?code=${pathId()}` },
      { method: 'GET', path: () => `/sandbox/wallet${query()}` },
      { method: 'POST', path: () => '/sandbox/wallet/confirm', form: () => `transactionId=${pathId()}&outcome=${pick(['0000', '1001', '2001', '9999', 'x', ''])}&token=${pathId()}` },
      { method: 'POST', path: () => '/sandbox/wallet/cancel', form: () => `transactionId=${pathId()}&token=${pathId()}` },
    ];

    // Idempotency-Key and X-Request-Id from a stream of their own, so the bodies and routes drawn stay what they were.
    // The small key pool makes keys collide across routes and bodies (422s, 409s, replays); some keys are malformed.
    const headerRandom = seededRandom(seed ^ 0x1d);
    const keyPool = ['k1', 'k2', 'k3', 'a'.repeat(255), 'a'.repeat(256), 'sp ace', 'caf\u00e9', '', '"quoted"', 'x'.repeat(2_000)];
    const requestIds = ['ok-id', 'bad id', 'r'.repeat(129), '\u00ff', ''];
    const extraHeaders = (): Record<string, string> => {
      const headers: Record<string, string> = {};
      if (headerRandom() < 0.3) headers['Idempotency-Key'] = keyPool[Math.floor(headerRandom() * keyPool.length)] as string;
      if (headerRandom() < 0.2) headers['X-Request-Id'] = requestIds[Math.floor(headerRandom() * requestIds.length)] as string;
      return headers;
    };

    const statuses = new Map<number, number>();
    const outcomes = new Map<string, number>();
    for (let index = 0; index < requestsPerDialect; index++) {
      const where = `seed ${seed} #${index}`;
      if (random() < 0.8) {
        const route = pick(signedRoutes);
        const path = route.path();
        const template = route.bodyKey ? bodies[route.bodyKey]?.() : undefined;
        const body = template === undefined ? undefined : random() < 0.15 ? template : mutated(template);
        const caller = random() < 0.85 ? dev : other;
        const headers = extraHeaders();
        const res = await caller.client.send(route.method, path, body === undefined ? { headers } : { body, headers });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const code = (res.body as { error?: { code?: string } } | null)?.error?.code ?? 'OK';
        const outcome = `${route.method} ${path.split('?')[0]} ${code}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        const shown = `${where}: ${route.method} ${path} ${JSON.stringify(headers)} ${JSON.stringify(body)?.slice(0, 400)} → ${res.status} ${res.rawText.slice(0, 300)}`;
        assert.ok(res.status < 500 || (res.status === 503 && /"SYSTEM_ERROR"/.test(res.rawText)), shown);
        if (res.status !== 200) {
          const error = (res.body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
          assert.ok(typeof error?.code === 'string' && error.code in errorMessages, `not a catalog code: ${shown}`);
          assert.equal(typeof error?.message, 'string', shown);
        }
      } else {
        const page = pick(pages);
        const path = page.path();
        const form = page.form?.();
        const headers = { ...extraHeaders(), ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) };
        const res = await rawRequest(server.url, page.method, path, headers, form);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        assert.ok(res.status < 500, `${where}: ${page.method} ${path} ${form ?? ''} → ${res.status} ${res.text.slice(0, 300)}`);
      }
    }
    assert.ok((statuses.get(200) ?? 0) > requestsPerDialect / 10, `enough requests got through to do something: ${JSON.stringify([...statuses])}`);
    assert.ok(statuses.size >= 4, `the mutations reach several outcomes: ${JSON.stringify([...statuses])}`);
    if (process.env.FUZZ_VERBOSE) console.log([...outcomes].sort().map(([k, v]) => `${v}\t${k}`).join('\n'));
    const ledger = await checkLedger(server.running.storage);
    assert.deepEqual(ledger.violations, []);
  });
});
