// Online checkout over real HTTP on both databases: create and read, the per-method QR (a real PNG), direct checkout
// (URL, QR, DuitNow EMV, FPX), every outcome through the sandbox wallet, races, bad input writing nothing, and auth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { sql, type Kysely } from 'kysely';
import QRCode from 'qrcode';
import { verifyNotifyCallback } from '@tunai/client';
import { allScopes, limits, type Checkout, type CreateCheckoutRequest, type PaymentNotify, type Store } from '@tunai/client/contract';
import { generateNonce } from '@tunai/client/signature';
import { checkLedger } from '../src/app/check-ledger.js';
import type { Database } from '../src/store/schema.js';
import { openDatabase } from '../src/store/database.js';
import { assertError, postForm, rowCounter, waitFor, type RowCounter } from './api-checks.js';
import {
  createDeveloper,
  forEachDialect,
  qrCodeInput,
  startTestServer,
  storeInput,
  transactionKeys,
  twoMerchantSuite,
  type Developer,
  type TestServer, rmTime } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

// ---------------------------------------------------------------- HTTP helpers

const iso = rmTime;

// ---------------------------------------------------------------- PNG and QR decoding (no image library of ours involved)

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface DecodedPng {
  width: number;
  height: number;
  dark(x: number, y: number): boolean;
}

/** Decodes an 8-bit, non-interlaced PNG (grey, RGB, grey+alpha or RGBA): checks the signature, every chunk CRC and the row filters. */
function decodePng(base64: string): DecodedPng {
  const bytes = Buffer.from(base64, 'base64');
  assert.equal(bytes.toString('base64'), base64, 'the image is plain base64');
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let offset = 8;
  const chunks: { type: string; data: Buffer }[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8).toString('latin1');
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    assert.equal(data.length, length, `${type} chunk is complete`);
    assert.equal(bytes.readUInt32BE(offset + 8 + length), crc32(bytes.subarray(offset + 4, offset + 8 + length)), `${type} chunk CRC`);
    chunks.push({ type, data });
    offset += 12 + length;
  }
  assert.equal(offset, bytes.length, 'nothing after the last chunk');
  assert.equal(chunks[0]?.type, 'IHDR');
  assert.equal(chunks[chunks.length - 1]?.type, 'IEND');
  const ihdr = chunks[0].data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const [bitDepth, colourType, compression, filter, interlace] = [ihdr[8], ihdr[9], ihdr[10], ihdr[11], ihdr[12]];
  assert.ok(width > 0 && height > 0, `IHDR ${width}x${height}`);
  assert.deepEqual([bitDepth, compression, filter, interlace], [8, 0, 0, 0]);
  const channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colourType ?? -1];
  assert.ok(channels !== undefined, `colour type ${colourType}`);
  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1), 'IDAT holds exactly the image rows');
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] as number;
      const a = i >= channels ? (pixels[y * stride + i - channels] as number) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + i] as number) : 0;
      const c = i >= channels && y > 0 ? (pixels[(y - 1) * stride + i - channels] as number) : 0;
      let predictor: number;
      if (type === 0) predictor = 0;
      else if (type === 1) predictor = a;
      else if (type === 2) predictor = b;
      else if (type === 3) predictor = Math.floor((a + b) / 2);
      else if (type === 4) {
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.fail(`row ${y} has filter type ${type}`);
      pixels[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return {
    width,
    height,
    dark(x, y) {
      const at = y * stride + x * channels;
      const grey = channels >= 3 ? ((pixels[at] as number) + (pixels[at + 1] as number) + (pixels[at + 2] as number)) / 3 : (pixels[at] as number);
      const alpha = channels === 2 ? (pixels[at + 1] as number) : channels === 4 ? (pixels[at + 3] as number) : 255;
      return alpha >= 128 && grey < 128;
    },
  };
}

/** Asserts the image is a QR symbol of `text`: samples each module's centre and compares with the symbol the text makes. */
function assertQrImageOf(base64: string, text: string): void {
  const png = decodePng(base64);
  let [minX, minY, maxX, maxY] = [png.width, png.height, -1, -1];
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      if (!png.dark(x, y)) continue;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const side = maxX - minX + 1;
  assert.ok(side > 20, 'a QR symbol is drawn');
  assert.equal(maxY - minY + 1, side, 'the symbol is square');
  for (const level of ['L', 'M', 'Q', 'H'] as const) {
    const symbol = QRCode.create(text, { errorCorrectionLevel: level });
    const n = symbol.modules.size;
    const cell = side / n;
    let same = true;
    for (let r = 0; r < n && same; r++) {
      for (let c = 0; c < n && same; c++) {
        same = png.dark(Math.floor(minX + (c + 0.5) * cell), Math.floor(minY + (r + 0.5) * cell)) === (symbol.modules.get(r, c) === 1);
      }
    }
    if (same) return;
  }
  assert.fail(`the PNG is not a QR code of ${text}`);
}

// ---------------------------------------------------------------- EMVCo (DuitNow) parsing with our own CRC

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
function crc16CcittFalse(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'latin1')) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = ((crc >> 15) & 1) ^ ((byte >> bit) & 1);
      crc = (crc << 1) & 0xffff;
      if (top) crc ^= 0x1021;
    }
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

function parseTlv(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  while (i < text.length) {
    const id = text.slice(i, i + 2);
    const lengthText = text.slice(i + 2, i + 4);
    assert.match(id, /^[0-9]{2}$/, `tag id at ${i}`);
    assert.match(lengthText, /^[0-9]{2}$/, `tag length at ${i}`);
    const value = text.slice(i + 4, i + 4 + Number(lengthText));
    assert.equal(value.length, Number(lengthText), `tag ${id} is complete`);
    out.push([id, value]);
    i += 4 + value.length;
  }
  return out;
}

// ---------------------------------------------------------------- unique ids

let orderSequence = 0;
const nextOrderId = (tag: string) => `co-${tag}-${++orderSequence}`;
let codeSequence = 0;
/** A WeChat Pay Malaysia auth code (13…0000): single use, so the middle digits count up. */
const wechatMyCode = () => `13${String(4_850_717_797 + ++codeSequence).padStart(12, '0')}0000`;

forEachDialect('online checkout API', (dialect) => {
  const suite = twoMerchantSuite(dialect, { dev: 'Checkout Co', other: 'Other Co' });
  let server: TestServer;
  let db: Kysely<Database>;
  let dev: Developer;
  let other: Developer;
  let receiver: WebhookReceiver;
  let storeId: string;

  before(async () => {
    ({ server, db, dev, other } = suite);
    receiver = await new WebhookReceiver().start();
    storeId = dev.merchant.store.id;
  });
  after(async () => {
    await receiver.stop();
  });

  const { countRows, writesNothing } = rowCounter(() => db, ['payment_checkouts', 'payment_transactions', 'sim_wallet_orders']);

  async function transactionsForOrder(merchantId: string, orderId: string): Promise<number> {
    const result = await sql<{ n: number | string }>`select count(*) as n from payment_transactions where merchant_id = ${merchantId} and order_id = ${orderId}`.execute(db);
    return Number(result.rows[0]?.n);
  }

  async function assertLedgerClean(): Promise<void> {
    assert.deepEqual((await checkLedger(server.running.storage)).violations, []);
  }

  type CheckoutPatch = Omit<Partial<CreateCheckoutRequest>, 'order'> & { order?: Partial<CreateCheckoutRequest['order']> };
  function checkoutBody(patch: CheckoutPatch = {}, owner: Developer = dev): CreateCheckoutRequest {
    const { order, ...rest } = patch;
    return {
      order: { id: nextOrderId('o'), title: 'Kopi', detail: '2 x kopi', additionalData: 'table 4', amount: 1_250, currencyType: 'MYR', ...order },
      method: [],
      type: 'WEB_PAYMENT',
      storeId: owner.merchant.store.id,
      redirectUrl: 'https://shop.example/return?x=1',
      notifyUrl: receiver.url('/notify'),
      layoutVersion: 'v1',
      ...rest,
    } as CreateCheckoutRequest;
  }

  async function newCheckout(patch: CheckoutPatch = {}, owner: Developer = dev): Promise<{ checkoutId: string; url: string; orderId: string }> {
    const body = checkoutBody(patch, owner);
    const created = await owner.client.payment.createCheckout(body);
    return { ...created.item, orderId: body.order.id };
  }

  const walletOrder = (url: string): string => {
    const parsed = new URL(url);
    assert.equal(parsed.origin, server.url);
    assert.equal(parsed.pathname, '/sandbox/wallet');
    const order = parsed.searchParams.get('order') ?? '';
    assert.match(order, /^[0-9]{24}$/);
    return order;
  };

  /** The payer answers on the sandbox wallet; returns where the browser is sent next. */
  async function walletAnswers(transactionId: string, outcome: string | 'CANCEL'): Promise<string> {
    const res = outcome === 'CANCEL'
      ? await postForm(`${server.url}/sandbox/wallet/cancel`, { order: transactionId })
      : await postForm(`${server.url}/sandbox/wallet/confirm`, { order: transactionId, outcome });
    assert.equal(res.status, 303, await res.text());
    // The redirect is relative to the form's path (/sandbox/wallet/…); resolved, it is the checkout or result page.
    const resolved = new URL(res.headers.get('location') ?? '', `${server.url}/sandbox/wallet/confirm`);
    return `${resolved.pathname}${resolved.search}`;
  }

  /** Where the checkout page sends a browser once the checkout is over. */
  async function landing(checkoutId: string): Promise<URL> {
    const back = await fetch(`${server.url}/checkout?checkoutId=${checkoutId}`, { redirect: 'manual' });
    assert.equal(back.status, 303, 'the checkout is over, so the page redirects');
    return new URL(back.headers.get('location') ?? '');
  }

  const notifiesFor = (transactionId: string) => receiver.requests.filter((r) => r.body.includes(transactionId));

  // ============================================================ create and read

  describe('create and GET /v3/payment/online', () => {
    test('a checkout order id of "." or ".." → 400 VALIDATION_ERROR and nothing written', async () => {
    for (const id of ['.', '..']) {
      const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body: checkoutBody({ order: { id } }) }));
      assertError(res, 400, 'VALIDATION_ERROR');
    }
  });

  test('WEB_PAYMENT: checkoutId and url, then every field of the checkout', async () => {
      server.clock.advanceMs(1_000);
      const now = server.clock.nowMs();
      const body = checkoutBody({ method: ['TNG_MY', 'BOOST_MY', 'TNG_MY', 'FPX_MY'] });
      const res = await dev.client.send('POST', '/v3/payment/online', { body });
      assert.equal(res.status, 200, res.rawText);
      const created = res.body as { item: { checkoutId: string; url: string }; code: string };
      assert.equal(created.code, 'SUCCESS');
      assert.deepEqual(Object.keys(created.item).sort(), ['checkoutId', 'url']);
      assert.match(created.item.checkoutId, /^[0-9]{19}$/);
      assert.equal(created.item.url, `${server.url}/checkout?checkoutId=${created.item.checkoutId}`);

      const got = await dev.client.payment.checkout(created.item.checkoutId);
      assert.equal(got.code, 'SUCCESS');
      const expected: Checkout = {
        id: created.item.checkoutId,
        order: { id: body.order.id, title: 'Kopi', detail: '2 x kopi', additionalData: 'table 4', amount: 1_250, currencyType: 'MYR' },
        type: 'WEB_PAYMENT',
        transactionId: '',
        platform: 'OPEN_API',
        method: ['TNG_MY', 'BOOST_MY', 'FPX_MY'],
        redirectUrl: 'https://shop.example/return?x=1',
        notifyUrl: receiver.url('/notify'),
        startAt: iso(now),
        endAt: iso(now + 600_000),
        status: 'IN_PROCESS',
        createdAt: iso(now),
        updatedAt: iso(now),
      };
      assert.deepEqual(got.item, expected);
      const page = await fetch(created.item.url);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /RM 12\.50/);
      for (const method of ['TNG_MY', 'BOOST_MY', 'FPX_MY']) assert.ok(html.includes(`id="method-${method}"`), method);
      assert.ok(!html.includes('id="method-WECHATPAY_MY"'));
    });

    test('MOBILE_PAYMENT: method [] with excludeMethod, optional fields absent, a 60 s lifetime', async () => {
      server.clock.advanceMs(1_000);
      const now = server.clock.nowMs();
      const body = checkoutBody({ type: 'MOBILE_PAYMENT', method: [], excludeMethod: ['ALIPAY_CN', 'WECHATPAY_CN'], expiresInSeconds: 60, order: { detail: undefined, additionalData: undefined }, layoutVersion: undefined });
      const created = (await dev.client.payment.createCheckout(body)).item;
      const got = (await dev.client.payment.checkout(created.checkoutId)).item;
      assert.deepEqual(got, {
        id: created.checkoutId,
        order: { id: body.order.id, title: 'Kopi', detail: '', additionalData: '', amount: 1_250, currencyType: 'MYR' },
        type: 'MOBILE_PAYMENT',
        transactionId: '',
        platform: 'OPEN_API',
        method: [],
        redirectUrl: body.redirectUrl,
        notifyUrl: body.notifyUrl,
        startAt: iso(now),
        endAt: iso(now + 60_000),
        status: 'IN_PROCESS',
        createdAt: iso(now),
        updatedAt: iso(now),
      });
      // Offered: the mobile list less the excluded ones.
      const html = await (await fetch(created.url)).text();
      for (const method of ['WECHATPAY_MY', 'BOOST_MY', 'GRABPAY_MY', 'TNG_MY']) assert.ok(html.includes(`id="method-${method}"`), method);
      for (const method of ['ALIPAY_CN', 'WECHATPAY_CN', 'PRESTO_MY', 'FPX_MY']) assert.ok(!html.includes(`id="method-${method}"`), method);
      assertError(await dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'ALIPAY_CN' } }), 400, 'PAYMENT_PARAM_INVALID');
    });

    test('expiresInSeconds 0 is the default 600 s, 60 and 86400 are the bounds', async () => {
      for (const [ttl, seconds] of [[0, 600], [limits.checkoutTtlSecondsMin, 60], [limits.checkoutTtlSecondsMax, 86_400]] as const) {
        const now = server.clock.nowMs();
        const created = await newCheckout({ expiresInSeconds: ttl });
        const got = (await dev.client.payment.checkout(created.checkoutId)).item;
        assert.equal(got.endAt, iso(now + seconds * 1_000), `expiresInSeconds ${ttl}`);
      }
    });

    test('an identical retry returns the same checkout; a changed one is ORDER_ID_DUPLICATE and writes nothing', async () => {
      const body = checkoutBody();
      const first = (await dev.client.payment.createCheckout(body)).item;
      server.clock.advanceMs(1_000);
      const before = await countRows();
      const again = (await dev.client.payment.createCheckout(body)).item;
      assert.deepEqual(again, first);
      assert.deepEqual(await countRows(), before);
      const changed = await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body: { ...body, order: { ...body.order, amount: 1_300 } } }));
      assertError(changed, 400, 'ORDER_ID_DUPLICATE');
      // Another merchant may use the same order id.
      const theirs = (await other.client.payment.createCheckout({ ...body, storeId: other.merchant.store.id })).item;
      assert.notEqual(theirs.checkoutId, first.checkoutId);
    });
  });

  // ============================================================ the per-method QR and direct checkout

  describe('checkoutQrCode, directCheckout and FPX banks', () => {
    let duitStore: Store;
    before(async () => {
      duitStore = (await dev.client.stores.create({ ...storeInput('Kedai Kopi Sdn Bhd Cawangan Dua'), city: 'Petaling Jaya Selatan' })).item;
    });

    test('checkoutQrCode: a real PNG QR of the wallet URL; the checkout now names the payment', async () => {
      const created = await newCheckout();
      server.clock.advanceMs(1_000);
      const now = server.clock.nowMs();
      const res = await dev.client.payment.checkoutQrCode(created.checkoutId, 'TNG_MY');
      assert.equal(res.code, 'SUCCESS');
      assert.deepEqual(Object.keys(res.item).sort(), ['qrCodeImageBase64', 'url']);
      const transactionId = walletOrder(res.item.url);
      const png = decodePng(res.item.qrCodeImageBase64);
      assert.ok(png.width > 0 && png.height > 0);
      assertQrImageOf(res.item.qrCodeImageBase64, res.item.url);

      const checkout = (await dev.client.payment.checkout(created.checkoutId)).item;
      assert.equal(checkout.transactionId, transactionId);
      assert.equal(checkout.status, 'IN_PROCESS');
      assert.equal(checkout.updatedAt, iso(now));
      const tx = (await dev.client.payment.transaction(transactionId)).item;
      assert.deepEqual(Object.keys(tx).sort(), transactionKeys);
      assert.equal(tx.status, 'IN_PROCESS');
      assert.equal(tx.method, 'TNG');
      assert.equal(tx.region, 'MALAYSIA');
      assert.equal(tx.type, 'WEB_PAYMENT');
      assert.deepEqual(tx.order, { id: created.orderId, title: 'Kopi', detail: '2 x kopi', additionalData: 'table 4', amount: 1_250 });
      assert.equal(tx.currencyType, 'MYR');
      // The wallet page the URL names is the payer's screen for this payment.
      const wallet = await fetch(res.item.url);
      assert.equal(wallet.status, 200);
      assert.match(await wallet.text(), /RM 12\.50/);
    });

    test('the same method again gives the same url; another method is PAYMENT_IN_PROCESS and writes nothing', async () => {
      const created = await newCheckout();
      const first = (await dev.client.payment.checkoutQrCode(created.checkoutId, 'BOOST_MY')).item;
      const second = await writesNothing(() => dev.client.payment.checkoutQrCode(created.checkoutId, 'BOOST_MY'));
      assert.equal(second.item.url, first.url);
      assertQrImageOf(second.item.qrCodeImageBase64, first.url);
      for (const method of ['TNG_MY', 'WECHATPAY_MY', 'WECHATPAY_CN']) {
        const res = await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method } }));
        assertError(res, 400, 'PAYMENT_IN_PROCESS');
      }
      // Direct checkout agrees with the payment already chosen.
      const direct = (await dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'URL', method: 'BOOST_MY' })).item;
      assert.deepEqual(direct, { type: 'URL', url: first.url });
      assert.equal(await transactionsForOrder(dev.merchant.merchant.id, created.orderId), 1);
    });

    test('directCheckout URL and QRCODE answer the wallet URL', async () => {
      const byUrl = await newCheckout();
      const url = await dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: byUrl.checkoutId, type: 'URL', method: 'GRABPAY_MY' } });
      assert.equal(url.status, 200, url.rawText);
      const urlItem = (url.body as { item: { type: string; url: string } }).item;
      assert.deepEqual(Object.keys(urlItem).sort(), ['type', 'url']);
      assert.equal(urlItem.type, 'URL');
      const urlTx = walletOrder(urlItem.url);
      assert.equal((await dev.client.payment.transaction(urlTx)).item.method, 'GRABPAY');

      const byQr = await newCheckout();
      const qr = (await dev.client.payment.directCheckout({ checkoutId: byQr.checkoutId, type: 'QRCODE', method: 'WECHATPAY_CN' })).item;
      assert.deepEqual(Object.keys(qr).sort(), ['qrcode', 'type']);
      assert.equal(qr.type, 'QRCODE');
      assert.deepEqual(Object.keys(qr.qrcode ?? {}).sort(), ['base64Image', 'data']);
      const qrTx = walletOrder(qr.qrcode?.data ?? '');
      assertQrImageOf(qr.qrcode?.base64Image ?? '', qr.qrcode?.data ?? '');
      const tx = (await dev.client.payment.transaction(qrTx)).item;
      assert.deepEqual([tx.method, tx.region], ['WECHATPAY', 'CHINA']);
      assert.equal((await dev.client.payment.checkout(byQr.checkoutId)).item.transactionId, qrTx);
    });

    test('our CRC-16/CCITT-FALSE gives the standard check value', () => {
      assert.equal(crc16CcittFalse('123456789'), '29B1');
    });

    test('directCheckout DUITNOW_QRCODE: an EMVCo payload with a correct CRC, drawn as a QR', async () => {
      const created = await newCheckout({ storeId: duitStore.id, order: { amount: 123_456 } });
      const res = (await dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'DUITNOW_QRCODE', method: 'TNG_MY' })).item;
      assert.equal(res.type, 'DUITNOW_QRCODE');
      const data = res.qrcode?.data ?? '';
      assertQrImageOf(res.qrcode?.base64Image ?? '', data);
      assert.ok(data.startsWith('000201010212'), data);
      const tags = parseTlv(data);
      assert.deepEqual(tags.map(([id]) => id), ['00', '01', '26', '52', '53', '54', '58', '59', '60', '62', '63']);
      const tag = (id: string) => tags.find(([t]) => t === id)?.[1];
      assert.equal(tag('00'), '01');
      assert.equal(tag('01'), '12', 'dynamic: one payment');
      assert.equal(tag('53'), '458', 'MYR');
      assert.equal(tag('54'), '1234.56');
      assert.equal(tag('58'), 'MY');
      // EMVCo caps the merchant name at 25 characters and the city at 15.
      assert.equal(duitStore.name.length, 31);
      assert.equal(tag('59'), duitStore.name.slice(0, 25));
      assert.equal(duitStore.city.length, 21);
      assert.equal(tag('60'), duitStore.city.slice(0, 15));
      assert.match(tag('52') ?? '', /^[0-9]{4}$/);
      const transactionId = (await dev.client.payment.checkout(created.checkoutId)).item.transactionId;
      assert.match(transactionId, /^[0-9]{24}$/);
      const merchantAccount = parseTlv(tag('26') ?? '');
      assert.equal(merchantAccount.find(([id]) => id === '00')?.[1], 'A0000006150001', 'DuitNow AID');
      assert.deepEqual(parseTlv(tag('62') ?? ''), [['01', transactionId]], 'bill number is the transaction id');
      // Tag 63 is the last, four hex digits over everything before them (including "6304").
      assert.ok(data.endsWith(`6304${tag('63')}`));
      assert.equal(tag('63'), crc16CcittFalse(data.slice(0, -4)));
      // A changed amount would not pass the payer's bank check.
      assert.notEqual(crc16CcittFalse(data.slice(0, -4).replace('1234.56', '1234.57')), tag('63'));
      assert.equal((await dev.client.payment.transaction(transactionId)).item.order.amount, 123_456);
    });

    test('FPX banks: a map from code to {code, isOnline, name}', async () => {
      const res = await dev.client.payment.fpxBanks();
      assert.equal(res.code, 'SUCCESS');
      const entries = Object.entries(res.item);
      assert.ok(entries.length >= 10);
      for (const [code, bank] of entries) {
        assert.deepEqual(Object.keys(bank).sort(), ['code', 'isOnline', 'name']);
        assert.equal(bank.code, code);
        assert.match(code, /^[A-Z0-9]{4,12}$/);
        assert.equal(typeof bank.isOnline, 'boolean');
        assert.ok(typeof bank.name === 'string' && bank.name.length > 0);
      }
      assert.equal(res.item['MB2U0227']?.isOnline, true);
      assert.equal(res.item['UOB0229']?.isOnline, false);
      assert.deepEqual(entries.filter(([, b]) => !b.isOnline).map(([c]) => c), ['UOB0229']);
    });

    test('FPX with an online bank gives a URL; unknown bank, offline bank, QRCODE or no bank are refused and write nothing', async () => {
      const refusals: { body: Record<string, unknown>; status: number; code: string }[] = [
        { body: { type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'NOPE0001' } }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'mb2u0227' } }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'FPX_MY' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'UOB0229' } }, status: 400, code: 'BANK_ERROR' },
        { body: { type: 'QRCODE', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'DUITNOW_QRCODE', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'FPX_MY', fpx: { bankCode: '' } }, status: 400, code: 'VALIDATION_ERROR' },
      ];
      const created = await newCheckout();
      for (const refusal of refusals) {
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, ...refusal.body } }));
        assertError(res, refusal.status, refusal.code);
      }
      // Nothing was started, so a good bank still works.
      const ok = (await dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } })).item;
      assert.equal(ok.type, 'URL');
      const tx = (await dev.client.payment.transaction(walletOrder(ok.url ?? ''))).item;
      assert.deepEqual([tx.method, tx.status], ['FPX', 'IN_PROCESS']);
      // FPX is a web bank redirect: a MOBILE_PAYMENT checkout does not offer it.
      const mobile = await newCheckout({ type: 'MOBILE_PAYMENT' });
      const res = await writesNothing(() =>
        dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: mobile.checkoutId, type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } } }),
      );
      assertError(res, 400, 'PAYMENT_PARAM_INVALID');
    });

    test('directCheckout types MINI_PROGRAM and others, and methods not offered, are refused and write nothing', async () => {
      const created = await newCheckout({ method: ['TNG_MY'] });
      const rows: { body: Record<string, unknown>; status: number; code: string }[] = [
        { body: { type: 'MINI_PROGRAM', method: 'TNG_MY' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'APP', method: 'TNG_MY' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'url', method: 'TNG_MY' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'BOOST_MY' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'TNG' }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: 'URL', method: 'FPX_MY', fpx: { bankCode: 'MB2U0227' } }, status: 400, code: 'PAYMENT_PARAM_INVALID' },
        { body: { type: '', method: 'TNG_MY' }, status: 400, code: 'VALIDATION_ERROR' },
        { body: { type: 'URL' }, status: 400, code: 'VALIDATION_ERROR' },
        { body: { method: 'TNG_MY' }, status: 400, code: 'VALIDATION_ERROR' },
      ];
      for (const row of rows) {
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, ...row.body } }));
        assertError(res, row.status, row.code);
      }
      for (const query of [{ checkoutId: created.checkoutId, method: 'BOOST_MY' }, { checkoutId: created.checkoutId, method: 'tng_my' }]) {
        assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query })), 400, 'PAYMENT_PARAM_INVALID');
      }
      for (const query of [{ checkoutId: created.checkoutId }, { method: 'TNG_MY' }, { checkoutId: created.checkoutId, method: '' }]) {
        assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query })), 400, 'VALIDATION_ERROR');
      }
      assertError(await dev.client.send('GET', '/v3/payment/online'), 400, 'VALIDATION_ERROR');
    });

    test('unknown checkoutIds and another merchant\'s checkout are 404 TRANSACTION_NOT_FOUND everywhere and write nothing', async () => {
      const theirs = await newCheckout({}, other);
      for (const checkoutId of ['1234567890123456789', 'abc', theirs.checkoutId, `${theirs.checkoutId}0`]) {
        assertError(await dev.client.send('GET', '/v3/payment/online', { query: { checkoutId } }), 404, 'TRANSACTION_NOT_FOUND');
        assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId, method: 'TNG_MY' } })), 404, 'TRANSACTION_NOT_FOUND');
        const direct = await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId, type: 'URL', method: 'TNG_MY' } }));
        assertError(direct, 404, 'TRANSACTION_NOT_FOUND');
      }
      // Theirs is untouched and still theirs.
      const still = (await other.client.payment.checkout(theirs.checkoutId)).item;
      assert.deepEqual([still.status, still.transactionId], ['IN_PROCESS', '']);
    });
  });

  // ============================================================ outcomes

  describe('outcomes through the sandbox wallet', () => {
    test('success: checkout SUCCESS, redirect SUCCESS, exactly one notify that verifies, ledger clean', async () => {
      const created = await newCheckout();
      const transactionId = walletOrder((await dev.client.payment.checkoutQrCode(created.checkoutId, 'WECHATPAY_MY')).item.url);
      server.clock.advanceMs(2_000);
      const paidAt = server.clock.nowMs();
      assert.equal(await walletAnswers(transactionId, '0000'), `/checkout?checkoutId=${created.checkoutId}`);
      const checkout = (await dev.client.payment.checkout(created.checkoutId)).item;
      assert.deepEqual([checkout.status, checkout.transactionId, checkout.updatedAt], ['SUCCESS', transactionId, iso(paidAt)]);
      const tx = (await dev.client.payment.transaction(transactionId)).item;
      assert.deepEqual([tx.status, tx.balanceAmount, tx.method, tx.region], ['SUCCESS', 1_250, 'WECHATPAY', 'MALAYSIA']);
      const landed = await landing(created.checkoutId);
      assert.equal(landed.origin + landed.pathname, 'https://shop.example/return');
      assert.deepEqual([landed.searchParams.get('x'), landed.searchParams.get('status'), landed.searchParams.get('orderId'), landed.searchParams.get('reason')], ['1', 'SUCCESS', created.orderId, null]);

      await waitFor(() => notifiesFor(transactionId).length > 0, 'the notify');
      // Another sweep and a little real time bring no second delivery.
      await server.running.runOutbox();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const notifies = notifiesFor(transactionId);
      assert.equal(notifies.length, 1);
      const notify = notifies[0]!;
      assert.equal(notify.path, '/notify');
      assert.ok(verifyNotifyCallback({ rawBody: notify.body, headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }));
      assert.ok(!verifyNotifyCallback({ rawBody: notify.body.replace('1250', '1251'), headers: notify.headers, serverPublicKeyPem: server.running.serverKeys.publicKeyPem }));
      assert.ok(!verifyNotifyCallback({ rawBody: notify.body, headers: notify.headers, serverPublicKeyPem: dev.publicKeyPem }));
      const event = JSON.parse(notify.body) as PaymentNotify;
      assert.equal(event.eventType, 'PAYMENT_WEB_ONLINE');
      // The notify's transaction is the API's plus RM's notify-only fields (rm-wire-compat §4).
      assert.deepEqual(event.data, { ...tx, finalAmount: tx.order.amount, voucher: null });
      await assertLedgerClean();
    });

    test('2001 insufficient balance: checkout FAILED, redirect FAILED with a reason, no notify', async () => {
      const created = await newCheckout({ method: ['BOOST_MY'] });
      const transactionId = walletOrder((await dev.client.payment.directCheckout({ checkoutId: created.checkoutId, type: 'URL', method: 'BOOST_MY' })).item.url ?? '');
      await walletAnswers(transactionId, '2001');
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'FAILED');
      const tx = (await dev.client.payment.transaction(transactionId)).item;
      assert.equal(tx.status, 'FAILED');
      assert.equal((tx.error as { code?: string }).code, 'INSUFFICIENT_CARD_BALANCE');
      const landed = await landing(created.checkoutId);
      assert.equal(landed.searchParams.get('status'), 'FAILED');
      assert.ok((landed.searchParams.get('reason') ?? '').length > 0);
      assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'BOOST_MY' } })), 400, 'TRANSACTION_STATUS_FAILED');
      await server.running.runOutbox();
      assert.equal(notifiesFor(transactionId).length, 0);
      await assertLedgerClean();
    });

    test('cancel on the wallet: checkout CANCELLED, redirect CANCELLED, no notify; later calls are ORDER_CANCELLED', async () => {
      const created = await newCheckout();
      const transactionId = walletOrder((await dev.client.payment.checkoutQrCode(created.checkoutId, 'GRABPAY_MY')).item.url);
      await walletAnswers(transactionId, 'CANCEL');
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'CANCELLED');
      assert.equal((await dev.client.payment.transaction(transactionId)).item.status, 'FAILED');
      assert.equal((await landing(created.checkoutId)).searchParams.get('status'), 'CANCELLED');
      assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'GRABPAY_MY' } })), 400, 'ORDER_CANCELLED');
      assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method: 'TNG_MY' } })), 400, 'ORDER_CANCELLED');
      await server.running.runOutbox();
      assert.equal(notifiesFor(transactionId).length, 0);
      await assertLedgerClean();
    });

    test('cancel on the checkout page while the wallet waits: CANCELLED, the transaction REVERSED, the wallet closed', async () => {
      const created = await newCheckout();
      const transactionId = walletOrder((await dev.client.payment.checkoutQrCode(created.checkoutId, 'TNG_MY')).item.url);
      const cancel = await postForm(`${server.url}/checkout/cancel`, { checkoutId: created.checkoutId });
      assert.equal(cancel.status, 303);
      assert.equal(cancel.headers.get('location'), `../checkout?checkoutId=${created.checkoutId}`, 'back to the checkout page, relative to /checkout/cancel');
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'CANCELLED');
      assert.equal((await dev.client.payment.transaction(transactionId)).item.status, 'REVERSED');
      assert.equal((await landing(created.checkoutId)).searchParams.get('status'), 'CANCELLED');
      // A late confirmation on the wallet takes no money.
      await walletAnswers(transactionId, '0000');
      assert.equal((await dev.client.payment.transaction(transactionId)).item.status, 'REVERSED');
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'CANCELLED');
      await server.running.runOutbox();
      assert.equal(notifiesFor(transactionId).length, 0);
      await assertLedgerClean();
    });

    test('cancel on the checkout page before any method: CANCELLED with no transaction', async () => {
      const created = await newCheckout();
      const cancel = await writesNothingButCheckout(() => postForm(`${server.url}/checkout/cancel`, { checkoutId: created.checkoutId }));
      assert.equal(cancel.status, 303);
      const checkout = (await dev.client.payment.checkout(created.checkoutId)).item;
      assert.deepEqual([checkout.status, checkout.transactionId], ['CANCELLED', '']);
      assert.equal(await transactionsForOrder(dev.merchant.merchant.id, created.orderId), 0);
    });

    async function writesNothingButCheckout<T>(act: () => Promise<T>): Promise<T> {
      const before = await countRows();
      const result = await act();
      assert.deepEqual(await countRows(), before);
      return result;
    }

    test('paid: checkoutQrCode and directCheckout are ORDER_PAID and write nothing', async () => {
      const created = await newCheckout();
      const transactionId = walletOrder((await dev.client.payment.checkoutQrCode(created.checkoutId, 'ALIPAY_CN')).item.url);
      await walletAnswers(transactionId, '0000');
      for (const method of ['ALIPAY_CN', 'TNG_MY']) {
        assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method } })), 400, 'ORDER_PAID');
        assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method } })), 400, 'ORDER_PAID');
      }
      // Cancelling a paid checkout changes nothing.
      await postForm(`${server.url}/checkout/cancel`, { checkoutId: created.checkoutId });
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'SUCCESS');
      await waitFor(() => notifiesFor(transactionId).length > 0, 'the notify');
      assert.equal(notifiesFor(transactionId).length, 1);
    });
  });

  // ============================================================ races

  describe('concurrency', () => {
    test('20 parallel checkoutQrCode calls for one checkout and method: one url, one transaction (five rounds)', async () => {
      await dev.client.getAccessToken();
      const problems: string[] = [];
      for (let round = 0; round < 5; round++) {
        const created = await newCheckout();
        const results = await Promise.all(Array.from({ length: 20 }, () => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'TNG_MY' } })));
        const refused = results.filter((r) => r.status !== 200);
        if (refused.length > 0) problems.push(`round ${round}: ${refused.length} of 20 refused, e.g. ${refused[0]?.rawText}`);
        const urls = new Set(results.filter((r) => r.status === 200).map((r) => (r.body as { item: { url: string } }).item.url));
        assert.equal(urls.size, 1, 'one url for all who got one');
        const transactionId = walletOrder([...urls][0]!);
        assert.equal(await transactionsForOrder(dev.merchant.merchant.id, created.orderId), 1, 'exactly one transaction for the order');
        assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.transactionId, transactionId);
        if (round === 0) {
          await walletAnswers(transactionId, '0000');
          assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'SUCCESS');
          await waitFor(() => notifiesFor(transactionId).length > 0, 'the notify');
          assert.equal(notifiesFor(transactionId).length, 1);
        }
      }
      await assertLedgerClean();
      // Asking again for the wallet already chosen must give the same url, also while the winner is still opening the wallet order.
      assert.deepEqual(problems, [], 'every parallel call for the same method answers with the url');
    });

    test('20 parallel payments of one DYNAMIC QR: one wallet order; the same wallet gets it again, another is PAYMENT_IN_PROCESS; after success one SUCCESS', async () => {
      const qr = (
        await dev.client.payment.createQrCode(qrCodeInput(storeId))
      ).item;
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => postForm(`${server.url}/payment/unified/pay`, { code: qr.code, method: i % 2 === 0 ? 'TNG_MY' : 'BOOST_MY' })),
      );
      const started = answers.filter((a) => a.status === 303);
      const orders = new Set(started.map((a) => walletOrder(a.headers.get('location') ?? '')));
      assert.equal(orders.size, 1, `one wallet order for every request that was answered with one; statuses: ${answers.map((a) => a.status).join(',')}`);
      assert.equal(started.length, 10, 'every request for the winning wallet (one of the two, ten requests each) got its order');
      for (const refused of answers.filter((a) => a.status !== 303)) {
        assert.equal(refused.status, 400);
        assert.match(await refused.text(), /id="error-code">PAYMENT_IN_PROCESS</);
      }
      const transactionId = [...orders][0] ?? '';
      const perQr = async () => Number((await sql<{ n: number | string }>`select count(*) as n from payment_transactions where qr_code = ${qr.code}`.execute(db)).rows[0]?.n);
      assert.equal(await perQr(), 1);
      await walletAnswers(transactionId, '0000');
      const txs = (await dev.client.payment.qrCodeTransactions(qr.code)).items;
      assert.deepEqual(txs.map((t) => [t.transactionId, t.status]), [[transactionId, 'SUCCESS']]);
      assert.equal((await dev.client.payment.qrCode(qr.code)).item.status, 'REDEEMED');
      const again = await postForm(`${server.url}/payment/unified/pay`, { code: qr.code, method: 'TNG_MY' });
      assert.equal(again.status, 400);
      assert.match(await again.text(), /QR_REDEEMED/);
      assert.equal(await perQr(), 1);
      await assertLedgerClean();
    });
  });

  // ============================================================ bad input writes nothing

  describe('bad create input: catalog error, no checkout and no transaction', () => {
    let quickPayOrderId: string;
    let existingOrderId: string;
    before(async () => {
      quickPayOrderId = nextOrderId('qp');
      const paid = await dev.client.payment.quickPay({
        authCode: wechatMyCode(),
        order: { id: quickPayOrderId, title: 'Counter', detail: '', additionalData: '', currencyType: 'MYR', amount: 100 },
        ipAddress: '8.8.8.8',
        storeId,
      });
      assert.equal(paid.item.status, 'SUCCESS');
      existingOrderId = (await newCheckout()).orderId;
    });

    const url = (n: number) => `https://shop.example/${'u'.repeat(n - 'https://shop.example/'.length)}`;
    type Patch = () => Record<string, unknown>;
    const order = (patch: Record<string, unknown>): Patch => () => ({ order: patch });
    const rows: { name: string; patch: Patch; status: number; code: string }[] = [
      { name: 'currencyType USD', patch: order({ currencyType: 'USD' }), status: 400, code: 'PAYMENT_UNSUPPORTED_CURRENCY_TYPE' },
      { name: 'currencyType missing', patch: order({ currencyType: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 9 (min-1)', patch: order({ amount: 9 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'amount 0', patch: order({ amount: 0 }), status: 400, code: 'MINIMUM_AMOUNT_REQUIRED' },
      { name: 'amount 100000001 (max+1)', patch: order({ amount: 100_000_001 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'amount 12.5', patch: order({ amount: 12.5 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.id 25 chars', patch: order({ id: 'i'.repeat(25) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.id with a space', patch: order({ id: 'a b' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.title 33 chars', patch: order({ title: 't'.repeat(33) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.detail 601 chars', patch: order({ detail: 'd'.repeat(601) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'order.additionalData 129 chars', patch: order({ additionalData: 'a'.repeat(129) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'WEB_PAYMENT with an unsupported method', patch: () => ({ method: ['PAYPAL_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'WEB_PAYMENT with a bare wallet name', patch: () => ({ method: ['WECHATPAY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'MOBILE_PAYMENT with PRESTO_MY', patch: () => ({ type: 'MOBILE_PAYMENT', method: ['TNG_MY', 'PRESTO_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'MOBILE_PAYMENT with FPX_MY', patch: () => ({ type: 'MOBILE_PAYMENT', method: ['FPX_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'excludeMethod removing the only method', patch: () => ({ method: ['TNG_MY'], excludeMethod: ['TNG_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      {
        name: 'excludeMethod removing every mobile method',
        patch: () => ({ type: 'MOBILE_PAYMENT', method: [], excludeMethod: ['WECHATPAY_MY', 'WECHATPAY_CN', 'BOOST_MY', 'ALIPAY_CN', 'GRABPAY_MY', 'TNG_MY'] }),
        status: 400,
        code: 'PAYMENT_PARAM_INVALID',
      },
      { name: 'excludeMethod naming an unknown method', patch: () => ({ excludeMethod: ['PAYPAL_MY'] }), status: 400, code: 'PAYMENT_PARAM_INVALID' },
      { name: 'method with 33 entries (max+1)', patch: () => ({ method: new Array(33).fill('TNG_MY') }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'method missing', patch: () => ({ method: undefined }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'type POS_PAYMENT', patch: () => ({ type: 'POS_PAYMENT' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl javascript:alert(1)', patch: () => ({ redirectUrl: 'javascript:alert(1)' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl relative', patch: () => ({ redirectUrl: '/return' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl ftp:', patch: () => ({ redirectUrl: 'ftp://shop.example/return' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl empty', patch: () => ({ redirectUrl: '' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'redirectUrl 2049 chars (max+1)', patch: () => ({ redirectUrl: url(2_049) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl http://169.254.169.254/', patch: () => ({ notifyUrl: 'http://169.254.169.254/' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl http://[fe80::1]/', patch: () => ({ notifyUrl: 'http://[fe80::1]/' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl http://metadata.google.internal/', patch: () => ({ notifyUrl: 'http://metadata.google.internal/' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl 169.254.169.254 written in hex', patch: () => ({ notifyUrl: 'http://0xA9FEA9FE/latest/meta-data' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl ftp:', patch: () => ({ notifyUrl: 'ftp://shop.example/notify' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl relative', patch: () => ({ notifyUrl: '/notify' }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'notifyUrl 2049 chars (max+1)', patch: () => ({ notifyUrl: url(2_049) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiresInSeconds 59 (min-1)', patch: () => ({ expiresInSeconds: 59 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiresInSeconds 1', patch: () => ({ expiresInSeconds: 1 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiresInSeconds 86401 (max+1)', patch: () => ({ expiresInSeconds: 86_401 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'expiresInSeconds -1', patch: () => ({ expiresInSeconds: -1 }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'layoutVersion 9 chars', patch: () => ({ layoutVersion: 'v'.repeat(9) }), status: 400, code: 'VALIDATION_ERROR' },
      { name: 'unknown storeId', patch: () => ({ storeId: '1234567890123456789' }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'another merchant\'s store', patch: () => ({ storeId: other.merchant.store.id }), status: 404, code: 'STORE_NOT_FOUND' },
      { name: 'the order id of a QuickPay', patch: () => ({ order: { id: quickPayOrderId } }), status: 400, code: 'ORDER_ID_DUPLICATE' },
      { name: 'the order id of another checkout (different content)', patch: () => ({ order: { id: existingOrderId, amount: 999 } }), status: 400, code: 'ORDER_ID_DUPLICATE' },
    ];
    for (const row of rows) {
      test(`create refuses ${row.name} (${row.status} ${row.code}) and writes nothing`, async () => {
        const patch = row.patch();
        const base = checkoutBody();
        const body = { ...base, ...patch, order: { ...base.order, ...(patch['order'] as object | undefined) } };
        const res = await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body }));
        assertError(res, row.status, row.code);
      });
    }

    const accepted: { name: string; patch: Patch }[] = [
      { name: 'amount 10 (min)', patch: order({ amount: 10 }) },
      { name: 'amount 100000000 (max)', patch: order({ amount: 100_000_000 }) },
      { name: 'order.title 32, detail 600, additionalData 128, id 24 chars', patch: order({ id: `max-${++orderSequence}-`.padEnd(24, 'x'), title: 't'.repeat(32), detail: 'd'.repeat(600), additionalData: 'a'.repeat(128) }) },
      { name: 'redirectUrl and notifyUrl of 2048 chars (max)', patch: () => ({ redirectUrl: url(2_048), notifyUrl: url(2_048) }) },
      { name: 'method with 32 entries (max)', patch: () => ({ method: new Array(32).fill('TNG_MY') }) },
      { name: 'notifyUrl on a private address', patch: () => ({ notifyUrl: 'http://10.0.0.5:8080/notify' }) },
      { name: 'excludeMethod null (go SDK)', patch: () => ({ excludeMethod: null }) },
    ];
    for (const ok of accepted) {
      test(`create accepts ${ok.name} and writes one checkout, no transaction`, async () => {
        const patch = ok.patch();
        const base = checkoutBody();
        const body = { ...base, ...patch, order: { ...base.order, ...(patch['order'] as object | undefined) } };
        const before = await countRows();
        const res = await dev.client.send('POST', '/v3/payment/online', { body });
        assert.equal(res.status, 200, res.rawText);
        const got = (await dev.client.payment.checkout((res.body as { item: { checkoutId: string } }).item.checkoutId)).item;
        assert.deepEqual(got.order, { ...body.order, detail: body.order.detail ?? '', additionalData: body.order.additionalData ?? '' });
        assert.equal(got.redirectUrl, body.redirectUrl);
        assert.equal(got.notifyUrl, body.notifyUrl);
        const after = await countRows();
        assert.deepEqual(after, { ...before, payment_checkouts: before['payment_checkouts']! + 1 });
      });
    }
  });

  // ============================================================ auth

  describe('auth', () => {
    let checkoutId: string;
    before(async () => {
      checkoutId = (await newCheckout()).checkoutId;
    });
    const routes = (): { method: string; path: string; body?: unknown; query?: Record<string, string> }[] => [
      { method: 'POST', path: '/v3/payment/online', body: checkoutBody() },
      { method: 'GET', path: '/v3/payment/online', query: { checkoutId } },
      { method: 'GET', path: '/v3/payment/online/qrcode', query: { checkoutId, method: 'TNG_MY' } },
      { method: 'POST', path: '/v3/payment/online/checkout', body: { checkoutId, type: 'URL', method: 'TNG_MY' } },
      { method: 'GET', path: '/v3/payment/fpx-bank' },
    ];
    const options = (route: ReturnType<typeof routes>[number]) => ({ ...(route.body === undefined ? {} : { body: route.body }), ...(route.query === undefined ? {} : { query: route.query }) });

    test('no access token is 401 TOKEN_INVALID on every route and writes nothing', async () => {
      for (const route of routes()) {
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options(route), accessToken: null, sign: false })), 401, 'TOKEN_INVALID');
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options(route), accessToken: null })), 401, 'TOKEN_INVALID');
      }
    });

    test('a token without manage_payment is 403 CLIENT_NO_PERMISSION on every route and writes nothing', async () => {
      const noPayment = await createDeveloper(server, { companyName: 'No Pay', scopes: allScopes.filter((s) => s !== 'manage_payment') });
      for (const route of routes()) {
        const body = route.path === '/v3/payment/online' && route.method === 'POST' ? { body: checkoutBody({}, noPayment) } : {};
        assertError(await writesNothing(() => noPayment.client.send(route.method, route.path, { ...options(route), ...body })), 403, 'CLIENT_NO_PERMISSION');
      }
    });

    test('an unsigned request is 401 INVALID_REQUEST_SIGNATURE on every route and writes nothing', async () => {
      for (const route of routes()) {
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options(route), sign: false })), 401, 'INVALID_REQUEST_SIGNATURE');
        assertError(await writesNothing(() => dev.client.send(route.method, route.path, { ...options(route), headers: { 'X-Signature': 'sha256 AAAA' } })), 401, 'INVALID_REQUEST_SIGNATURE');
      }
      // The checkout was never touched.
      assert.equal((await dev.client.payment.checkout(checkoutId)).item.transactionId, '');
    });

    test('a replayed nonce is 401 SPAM and writes nothing', async () => {
      const nonceStr = `coreplay${generateNonce()}`;
      const body = checkoutBody();
      const first = await dev.client.send('POST', '/v3/payment/online', { body, nonceStr });
      assert.equal(first.status, 200, first.rawText);
      assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body: checkoutBody(), nonceStr })), 401, 'SPAM');
    });
  });

  // ============================================================ time passes (last: these move the clock)

  describe('expiry', () => {
    test('an unpaid checkout past endAt reads EXPIRED; checkoutQrCode and directCheckout are TRANSACTION_EXPIRED', async () => {
      const created = await newCheckout({ expiresInSeconds: 60 });
      server.clock.advanceMs(59_999);
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'IN_PROCESS');
      server.clock.advanceMs(1);
      assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'TNG_MY' } })), 400, 'TRANSACTION_EXPIRED');
      assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online/checkout', { body: { checkoutId: created.checkoutId, type: 'URL', method: 'TNG_MY' } })), 400, 'TRANSACTION_EXPIRED');
      const got = (await dev.client.payment.checkout(created.checkoutId)).item;
      assert.deepEqual([got.status, got.transactionId], ['EXPIRED', '']);
      assert.equal((await landing(created.checkoutId)).searchParams.get('status'), 'EXPIRED');
      // The same order id may not be reused by a retry after expiry.
      const body = checkoutBody({ expiresInSeconds: 60, order: { id: created.orderId } });
      assertError(await writesNothing(() => dev.client.send('POST', '/v3/payment/online', { body })), 400, 'ORDER_ID_DUPLICATE');
    });

    test('a payment nobody confirms: after endAt the closed loop closes its wallet order, FAILED (PAYMENT_TIMEOUT), and the checkout is EXPIRED', async () => {
      const created = await newCheckout();
      const transactionId = walletOrder((await dev.client.payment.checkoutQrCode(created.checkoutId, 'SHOPEEPAY_MY')).item.url);
      server.clock.advanceMs(601_000);
      await server.running.runClosedLoop();
      const tx = (await dev.client.payment.transaction(transactionId)).item;
      assert.deepEqual([tx.status, tx.balanceAmount], ['FAILED', 0]);
      assert.equal((tx.error as { code?: string }).code, 'PAYMENT_TIMEOUT');
      const walletOrderRow = await db.selectFrom('sim_wallet_orders').select('status').where('upstream_order_id', '=', transactionId).executeTakeFirst();
      assert.equal(walletOrderRow?.status, 'CLOSED', 'the wallet order was closed, so a late confirmation cannot charge');
      assert.equal((await dev.client.payment.checkout(created.checkoutId)).item.status, 'EXPIRED');
      assert.equal((await landing(created.checkoutId)).searchParams.get('status'), 'EXPIRED');
      assertError(await writesNothing(() => dev.client.send('GET', '/v3/payment/online/qrcode', { query: { checkoutId: created.checkoutId, method: 'SHOPEEPAY_MY' } })), 400, 'TRANSACTION_EXPIRED');
      await server.running.runOutbox();
      assert.equal(notifiesFor(transactionId).length, 0);
      await assertLedgerClean();
    });
  });
});

// ============================================================ notifyUrl on loopback and private networks, by mode

forEachDialect('online checkout notifyUrl on private networks', (dialect) => {
  interface Mode {
    server: TestServer;
    db: Kysely<Database>;
    dev: Developer;
    rows: RowCounter;
  }
  const environments = {
    production: { TUNAI_SANDBOX: 'false' },
    productionAllowing: { TUNAI_SANDBOX: 'false', TUNAI_OUTBOUND_ALLOW_PRIVATE: 'true' },
    sandbox: {},
    sandboxRefusing: { TUNAI_OUTBOUND_ALLOW_PRIVATE: 'false' },
  } satisfies Record<string, Record<string, string>>;
  const modes = {} as Record<keyof typeof environments, Mode>;
  let receiver: WebhookReceiver;

  before(async () => {
    receiver = await new WebhookReceiver().start();
    for (const [name, env] of Object.entries(environments) as [keyof typeof environments, Record<string, string>][]) {
      const server = await startTestServer(dialect, env);
      const { db } = openDatabase(server.database.target);
      modes[name] = { server, db, dev: await createDeveloper(server), rows: rowCounter(() => db, ['payment_checkouts', 'payment_transactions', 'outbox_events']) };
    }
  });
  after(async () => {
    for (const mode of Object.values(modes)) {
      await mode.db.destroy();
      await mode.server.close();
    }
    await receiver.stop();
  });

  const body = (mode: Mode, notifyUrl: string): CreateCheckoutRequest => ({
    order: { id: nextOrderId('pn'), title: 'Kopi', detail: '', additionalData: '', amount: 1_250, currencyType: 'MYR' },
    method: [],
    type: 'WEB_PAYMENT',
    storeId: mode.dev.merchant.store.id,
    redirectUrl: 'https://shop.example/return',
    notifyUrl,
    layoutVersion: 'v1',
  });

  async function accepted(mode: Mode, notifyUrl: string): Promise<void> {
    const before = await mode.rows.countRows();
    const res = await mode.dev.client.send('POST', '/v3/payment/online', { body: body(mode, notifyUrl) });
    assert.equal(res.status, 200, res.rawText);
    const checkoutId = (res.body as { item: { checkoutId: string } }).item.checkoutId;
    assert.equal((await mode.dev.client.payment.checkout(checkoutId)).item.notifyUrl, notifyUrl);
    assert.deepEqual(await mode.rows.countRows(), { ...before, payment_checkouts: before['payment_checkouts']! + 1 });
  }

  async function refused(mode: Mode, notifyUrl: string, message: string): Promise<void> {
    const res = await mode.rows.writesNothing(() => mode.dev.client.send('POST', '/v3/payment/online', { body: body(mode, notifyUrl) }));
    assertError(res, 400, 'VALIDATION_ERROR');
    assert.equal((res.body as { error: { message: string } }).error.message, message, notifyUrl);
  }

  const targets = (): { url: string; message: string }[] => [
    { url: receiver.url('/notify'), message: 'Validations error: notifyUrl must not point at a private or loopback address (127.0.0.1)' },
    { url: 'http://10.1.2.3/', message: 'Validations error: notifyUrl must not point at a private or loopback address (10.1.2.3)' },
    { url: 'http://localhost/', message: 'Validations error: notifyUrl must not point at a loopback host (localhost)' },
    { url: 'http://Shop.LocalHost.:8080/notify', message: 'Validations error: notifyUrl must not point at a loopback host (shop.localhost.)' },
    { url: 'https://172.16.0.1/notify', message: 'Validations error: notifyUrl must not point at a private or loopback address (172.16.0.1)' },
    { url: 'http://192.168.1.10/', message: 'Validations error: notifyUrl must not point at a private or loopback address (192.168.1.10)' },
    { url: 'http://100.64.0.1/', message: 'Validations error: notifyUrl must not point at a private or loopback address (100.64.0.1)' },
    { url: 'http://[::1]:8080/', message: 'Validations error: notifyUrl must not point at a private or loopback address ([::1])' },
    { url: 'http://[fd00::1]/', message: 'Validations error: notifyUrl must not point at a private or loopback address ([fd00::1])' },
    { url: 'http://[::ffff:10.0.0.1]/', message: 'Validations error: notifyUrl must not point at a private or loopback address ([::ffff:a00:1])' },
  ];

  test('TUNAI_SANDBOX=false refuses loopback, private and localhost notifyUrls (400 VALIDATION_ERROR) and writes nothing', async () => {
    for (const { url, message } of targets()) await refused(modes.production, url, message);
  });

  test('TUNAI_SANDBOX=false with TUNAI_OUTBOUND_ALLOW_PRIVATE=true accepts what production mode refused', async () => {
    for (const { url, message } of targets()) {
      await refused(modes.production, url, message);
      await accepted(modes.productionAllowing, url);
    }
  });

  test('sandbox mode (the default) still accepts them; TUNAI_OUTBOUND_ALLOW_PRIVATE=false refuses them in sandbox mode too', async () => {
    for (const { url, message } of targets()) {
      await accepted(modes.sandbox, url);
      await refused(modes.sandboxRefusing, url, message);
    }
  });

  test('with private targets refused, the ranges end at their edges; public notifyUrls stay accepted; link-local stays refused everywhere', async () => {
    for (const host of ['172.16.0.0', '172.31.255.255', '100.64.0.0', '100.127.255.255', '10.255.255.255', '192.168.255.255']) {
      await refused(modes.production, `http://${host}/notify`, `Validations error: notifyUrl must not point at a private or loopback address (${host})`);
    }
    for (const url of ['https://shop.example/notify', 'http://172.15.255.255/', 'http://172.32.0.0/', 'http://100.63.255.255/', 'http://100.128.0.0/', 'http://localhost.shop.example/']) {
      await accepted(modes.production, url);
    }
    for (const mode of Object.values(modes)) {
      await refused(mode, 'http://169.254.169.254/', 'Validations error: notifyUrl must not point at a link-local, metadata or unspecified address (169.254.169.254)');
    }
  });
});
