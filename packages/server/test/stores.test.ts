// Store endpoints (GET /v3/stores, POST /v3/store, GET/PATCH/DELETE /v3/store/:id): shapes, limits, validation, paging, filters, isolation, auth.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RawResponse } from '@tunai/client';
import type { CreateStoreRequest, Store } from '@tunai/client/contract';
import type { StoreRecord } from '../src/app/ports.js';
import { createDeveloper, forEachDialect, startTestServer, type Developer, type TestServer, rmTime } from './harness.js';

const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const storeKeys = [
  'addressLine1',
  'addressLine2',
  'city',
  'country',
  'countryCode',
  'createdAt',
  'geoLocation',
  'id',
  'imageUrl',
  'isDefault',
  'name',
  'phoneNumber',
  'postCode',
  'state',
  'status',
  'updatedAt',
];

function validInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Kedai Kopi Ali',
    addressLine1: '12, Jalan Sultan Ismail',
    addressLine2: 'Taman Mewah, Seksyen 3',
    postCode: '47400',
    city: 'Petaling Jaya',
    state: 'Selangor',
    country: 'Malaysia',
    countryCode: '60',
    phoneNumber: '377334080',
    geoLocation: { latitude: 3.1349857, longitude: 101.6136659 },
    ...overrides,
  };
}

function without(key: string): Record<string, unknown> {
  const input = validInput();
  delete input[key];
  return input;
}

function iso(ms: number): string {
  return rmTime(ms);
}

function assertError(res: RawResponse, status: number, code: string, what = ''): void {
  assert.equal(res.status, status, `${what} expected HTTP ${status}, got ${res.status}: ${res.rawText}`);
  const body = res.body as { error?: { code?: string; message?: string } };
  assert.equal(body.error?.code, code, `${what} ${res.rawText}`);
  assert.equal(typeof body.error?.message, 'string');
}

function assertOk<T>(res: RawResponse, what = ''): T {
  assert.equal(res.status, 200, `${what} expected HTTP 200, got ${res.status}: ${res.rawText}`);
  return res.body as T;
}

/** Checks a wire store object has exactly the spec's keys with the right JSON types. */
function assertStoreShape(item: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(item).sort(), storeKeys);
  for (const key of storeKeys) {
    if (key === 'geoLocation' || key === 'isDefault') continue;
    assert.equal(typeof item[key], 'string', `${key} must be a string`);
  }
  assert.equal(typeof item['isDefault'], 'boolean');
  const geo = item['geoLocation'] as Record<string, unknown>;
  assert.deepEqual(Object.keys(geo).sort(), ['latitude', 'longitude']);
  assert.equal(typeof geo['latitude'], 'number');
  assert.equal(typeof geo['longitude'], 'number');
  assert.match(item['id'] as string, /^[0-9]+$/);
  assert.match(item['createdAt'] as string, rfc3339);
  assert.match(item['updatedAt'] as string, rfc3339);
}

forEachDialect('store endpoints', (dialect) => {
  let server: TestServer;
  let dev: Developer;
  before(async () => {
    server = await startTestServer(dialect);
    dev = await createDeveloper(server, { companyName: 'Kedai Induk' });
  });
  after(() => server.close());

  /** Every live store of a merchant, straight from storage. */
  async function storedStores(merchantId: string): Promise<StoreRecord[]> {
    const page = await server.running.storage.stores.list({ merchantId, limit: 100, afterId: null, updatedAtFromMs: null, updatedAtToMs: null });
    assert.equal(page.total, page.stores.length);
    return page.stores;
  }

  async function create(who: Developer, input: Record<string, unknown>): Promise<Store> {
    const res = await who.client.send('POST', '/v3/store', { body: input });
    return assertOk<{ item: Store }>(res, 'create').item;
  }

  async function createMany(who: Developer, count: number): Promise<Store[]> {
    const out: Store[] = [];
    for (let i = 0; i < count; i++) out.push(await create(who, validInput({ name: `Branch ${i + 1}` })));
    return out;
  }

  async function listAll(who: Developer, query: Record<string, string | number | undefined> = {}): Promise<{ items: Store[]; meta: Record<string, unknown> }> {
    return assertOk(await who.client.send('GET', '/v3/stores', { query }), 'list');
  }

  // ---- create ------------------------------------------------------------------------------------------------

  test('POST /v3/store returns the new store field for field, upper-cases address, city, state, country and keeps the name', async () => {
    const input = validInput();
    const res = await dev.client.send('POST', '/v3/store', { body: input });
    const body = assertOk<{ item: Record<string, unknown>; code: string }>(res);
    assert.deepEqual(Object.keys(body).sort(), ['code', 'item']);
    assert.equal(body.code, 'SUCCESS');
    assertStoreShape(body.item);
    const now = iso(server.clock.nowMs());
    assert.deepEqual(body.item, {
      id: body.item['id'],
      name: 'Kedai Kopi Ali',
      imageUrl: body.item['imageUrl'],
      addressLine1: '12, JALAN SULTAN ISMAIL',
      addressLine2: 'TAMAN MEWAH, SEKSYEN 3',
      postCode: '47400',
      city: 'PETALING JAYA',
      state: 'SELANGOR',
      country: 'MALAYSIA',
      countryCode: '60',
      phoneNumber: '377334080',
      geoLocation: { latitude: 3.1349857, longitude: 101.6136659 },
      status: 'ACTIVE',
      isDefault: false,
      createdAt: now,
      updatedAt: now,
    });

    // Stored: readable by id, listed, and persisted exactly so.
    const id = body.item['id'] as string;
    const got = assertOk<{ item: Record<string, unknown>; code: string }>(await dev.client.send('GET', `/v3/store/${id}`));
    assert.deepEqual(got, { item: body.item, code: 'SUCCESS' });
    const listed = await listAll(dev, { limit: 100 });
    assert.deepEqual(
      listed.items.find((s) => s.id === id),
      body.item,
    );
    const record = await server.running.storage.stores.get(dev.merchant.merchant.id, id);
    assert.ok(record);
    assert.equal(record.name, 'Kedai Kopi Ali');
    assert.equal(record.addressLine1, '12, JALAN SULTAN ISMAIL');
    assert.equal(record.latitude, 3.1349857);
    assert.equal(record.longitude, 101.6136659);
    assert.equal(record.isDefault, false);
    await dev.client.stores.delete(id);
  });

  test('POST /v3/store without optional fields gives addressLine2 "" and geoLocation 0,0', async () => {
    const input = validInput();
    delete input['addressLine2'];
    delete input['geoLocation'];
    const item = await create(dev, input);
    assertStoreShape(item as unknown as Record<string, unknown>);
    assert.equal(item.addressLine2, '');
    assert.deepEqual(item.geoLocation, { latitude: 0, longitude: 0 });
    await dev.client.stores.delete(item.id);
  });

  test('the default store is readable, isDefault true, and is the merchant\'s onboarding store', async () => {
    const id = dev.merchant.store.id;
    const body = assertOk<{ item: Record<string, unknown> }>(await dev.client.send('GET', `/v3/store/${id}`));
    assertStoreShape(body.item);
    assert.equal(body.item['id'], id);
    assert.equal(body.item['isDefault'], true);
    assert.equal(body.item['name'], 'Kedai Induk');
    const listed = await listAll(dev);
    assert.equal(listed.items.filter((s) => s.isDefault).length, 1);
    assert.equal(listed.items.find((s) => s.isDefault)?.id, id);
  });

  // ---- get -------------------------------------------------------------------------------------------------

  test('GET /v3/store/:id of an unknown id → 404 STORE_NOT_FOUND', async () => {
    for (const id of ['1234567890123456789', '0', 'abc', '-1', 'x'.repeat(200), '%C3%A9']) {
      assertError(await dev.client.send('GET', `/v3/store/${id}`), 404, 'STORE_NOT_FOUND', id.slice(0, 20));
    }
  });

  test('a store id with a NUL byte → 400 INVALID_REQUEST on GET, PATCH and DELETE (never a 500)', async () => {
    for (const id of ['%00', '1%001', `${dev.merchant.store.id}%00`]) {
      assertError(await dev.client.send('GET', `/v3/store/${id}`), 400, 'INVALID_REQUEST', `GET ${id}`);
      assertError(await dev.client.send('PATCH', `/v3/store/${id}`, { body: { name: 'x' } }), 400, 'INVALID_REQUEST', `PATCH ${id}`);
      assertError(await dev.client.send('DELETE', `/v3/store/${id}`), 400, 'INVALID_REQUEST', `DELETE ${id}`);
    }
    for (const id of ['abc', '12a', `${dev.merchant.store.id}x`]) {
      assertError(await dev.client.send('GET', `/v3/store/${id}`), 404, 'STORE_NOT_FOUND', `GET ${id}`);
    }
    assert.equal((await storedStores(dev.merchant.merchant.id)).some((s) => s.name === 'x'), false);
  });

  test('an over-long or badly percent-encoded store id is refused with RM\'s error envelope, not Fastify\'s', async () => {
    for (const id of ['x'.repeat(201), '1'.repeat(500), '%zz', '%FF']) {
      const res = await dev.client.send('GET', `/v3/store/${id}`);
      assert.ok(res.status >= 400 && res.status < 500, `${id.slice(0, 20)}: HTTP ${res.status}`);
      const body = res.body as { error?: unknown };
      assert.ok(body.error !== null && typeof body.error === 'object', `${id.slice(0, 20)}: error must be {code,message}: ${res.rawText.slice(0, 200)}`);
      const error = body.error as { code?: unknown; message?: unknown };
      assert.ok(['STORE_NOT_FOUND', 'INVALID_REQUEST', 'API_ENDPOINT_NOT_FOUND'].includes(error.code as string), `${id.slice(0, 20)}: code ${String(error.code)}`);
      assert.equal(typeof error.message, 'string');
    }
  });

  // ---- update ----------------------------------------------------------------------------------------------

  test('PATCH changes only the fields sent, upper-cases address text, ignores unknown fields, moves updatedAt and keeps createdAt', async () => {
    const original = await create(dev, validInput({ name: 'Before' }));
    server.clock.advanceMs(5_000);
    const res = await dev.client.send('PATCH', `/v3/store/${original.id}`, {
      body: { name: 'After Name', city: 'shah alam', addressLine2: 'lot 5', madeUpField: 'ignored' },
    });
    const body = assertOk<{ item: Record<string, unknown>; code: string }>(res);
    assert.equal(body.code, 'SUCCESS');
    assertStoreShape(body.item);
    assert.deepEqual(body.item, {
      ...original,
      name: 'After Name',
      city: 'SHAH ALAM',
      addressLine2: 'LOT 5',
      createdAt: original.createdAt,
      updatedAt: iso(server.clock.nowMs()),
    });
    assert.notEqual(body.item['updatedAt'], original.updatedAt);
    assert.equal('madeUpField' in body.item, false);
    // Persisted.
    const got = assertOk<{ item: Record<string, unknown> }>(await dev.client.send('GET', `/v3/store/${original.id}`));
    assert.deepEqual(got.item, body.item);

    // geoLocation and phone can change too.
    server.clock.advanceMs(1_000);
    const again = assertOk<{ item: Store }>(
      await dev.client.send('PATCH', `/v3/store/${original.id}`, { body: { geoLocation: { latitude: -90, longitude: 180 }, phoneNumber: '1234' } }),
    );
    assert.deepEqual(again.item.geoLocation, { latitude: -90, longitude: 180 });
    assert.equal(again.item.phoneNumber, '1234');
    assert.equal(again.item.name, 'After Name');
    assert.equal(again.item.createdAt, original.createdAt);
    await dev.client.stores.delete(original.id);
  });

  test('PATCH with an empty body {} → 400 VALIDATION_ERROR and the store is unchanged', async () => {
    const original = await create(dev, validInput());
    server.clock.advanceMs(1_000);
    assertError(await dev.client.send('PATCH', `/v3/store/${original.id}`, { body: {} }), 400, 'VALIDATION_ERROR');
    assertError(await dev.client.send('PATCH', `/v3/store/${original.id}`), 400, 'VALIDATION_ERROR', 'no body');
    const got = assertOk<{ item: Store }>(await dev.client.send('GET', `/v3/store/${original.id}`));
    assert.deepEqual(got.item, original);
    await dev.client.stores.delete(original.id);
  });

  test('PATCH with an invalid field → 400 VALIDATION_ERROR and the store is unchanged', async () => {
    const original = await create(dev, validInput());
    server.clock.advanceMs(1_000);
    const cases: Record<string, unknown>[] = [
      { name: '' },
      { name: 'n'.repeat(101) },
      { name: 5 },
      { postCode: '1'.repeat(17) },
      { phoneNumber: '12ab' },
      { geoLocation: { latitude: 91, longitude: 0 } },
      { geoLocation: { latitude: 1 } },
      { name: 'Fine', countryCode: '12345' },
    ];
    for (const body of cases) {
      assertError(await dev.client.send('PATCH', `/v3/store/${original.id}`, { body }), 400, 'VALIDATION_ERROR', JSON.stringify(body));
    }
    const got = assertOk<{ item: Store }>(await dev.client.send('GET', `/v3/store/${original.id}`));
    assert.deepEqual(got.item, original);
    await dev.client.stores.delete(original.id);
  });

  test('PATCH with only unknown fields → 400 VALIDATION_ERROR (like {}) and the store is unchanged', async () => {
    const original = await create(dev, validInput());
    server.clock.advanceMs(1_000);
    assertError(await dev.client.send('PATCH', `/v3/store/${original.id}`, { body: { madeUpField: 'x' } }), 400, 'VALIDATION_ERROR');
    const got = assertOk<{ item: Store }>(await dev.client.send('GET', `/v3/store/${original.id}`));
    assert.deepEqual(got.item, original);
    await dev.client.stores.delete(original.id);
  });

  test('PATCH of an unknown store → 404 STORE_NOT_FOUND', async () => {
    assertError(await dev.client.send('PATCH', '/v3/store/1234567890123456789', { body: { name: 'x' } }), 404, 'STORE_NOT_FOUND');
  });

  // ---- delete ----------------------------------------------------------------------------------------------

  test('DELETE returns {code:"SUCCESS"}; the store is then gone from GET, PATCH, DELETE and the list', async () => {
    const store = await create(dev, validInput({ name: 'Short lived' }));
    const res = await dev.client.send('DELETE', `/v3/store/${store.id}`);
    assert.deepEqual(assertOk(res), { code: 'SUCCESS' });
    assertError(await dev.client.send('GET', `/v3/store/${store.id}`), 404, 'STORE_NOT_FOUND', 'get');
    assertError(await dev.client.send('PATCH', `/v3/store/${store.id}`, { body: { name: 'back' } }), 404, 'STORE_NOT_FOUND', 'patch');
    assertError(await dev.client.send('DELETE', `/v3/store/${store.id}`), 404, 'STORE_NOT_FOUND', 'delete again');
    const listed = await listAll(dev, { limit: 100 });
    assert.equal(listed.items.some((s) => s.id === store.id), false);
    assert.equal(listed.meta['total'], listed.items.length);
    assert.equal(await server.running.storage.stores.get(dev.merchant.merchant.id, store.id), null);
  });

  test('DELETE of an unknown store → 404 STORE_NOT_FOUND', async () => {
    assertError(await dev.client.send('DELETE', '/v3/store/1234567890123456789'), 404, 'STORE_NOT_FOUND');
  });

  test('DELETE of the default store → 400 DEFAULT_STORE_DELETE_NOT_ALLOWED and it still exists', async () => {
    const id = dev.merchant.store.id;
    const before = assertOk<{ item: Store }>(await dev.client.send('GET', `/v3/store/${id}`));
    assertError(await dev.client.send('DELETE', `/v3/store/${id}`), 400, 'DEFAULT_STORE_DELETE_NOT_ALLOWED');
    const after = assertOk<{ item: Store }>(await dev.client.send('GET', `/v3/store/${id}`));
    assert.deepEqual(after.item, before.item);
    assert.ok((await listAll(dev)).items.some((s) => s.id === id));
  });

  // ---- store limit -----------------------------------------------------------------------------------------

  test('10 stores including the default are allowed; the 11th → 400 STORE_MAXIMUM with nothing written; a deleted store frees its slot', async () => {
    const owner = await createDeveloper(server, { companyName: 'Limit Co' });
    const merchantId = owner.merchant.merchant.id;
    const created = await createMany(owner, 9);
    assert.equal((await storedStores(merchantId)).length, 10);
    assert.equal((await listAll(owner)).meta['total'], 10);

    assertError(await owner.client.send('POST', '/v3/store', { body: validInput({ name: 'Eleventh' }) }), 400, 'STORE_MAXIMUM');
    const afterRefusal = await storedStores(merchantId);
    assert.equal(afterRefusal.length, 10);
    assert.equal(afterRefusal.some((s) => s.name === 'Eleventh'), false);
    assert.equal((await listAll(owner)).meta['total'], 10);

    // Freeing a slot lets exactly one more in.
    const victim = created[4] as Store;
    await owner.client.stores.delete(victim.id);
    assert.equal((await storedStores(merchantId)).length, 9);
    const replacement = await create(owner, validInput({ name: 'Replacement' }));
    assert.equal(replacement.isDefault, false);
    assert.equal((await storedStores(merchantId)).length, 10);
    assertError(await owner.client.send('POST', '/v3/store', { body: validInput({ name: 'Twelfth' }) }), 400, 'STORE_MAXIMUM');
    assert.equal((await storedStores(merchantId)).length, 10);
  });

  test('15 concurrent creates from a fresh merchant end with exactly 10 stores; the rest are STORE_MAXIMUM', async () => {
    const racer = await createDeveloper(server, { companyName: 'Race Co' });
    await racer.client.getAccessToken();
    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => racer.client.send('POST', '/v3/store', { body: validInput({ name: `Racer ${i}` }) })),
    );
    const ok = responses.filter((r) => r.status === 200);
    const refused = responses.filter((r) => r.status !== 200);
    assert.equal(ok.length, 9, responses.map((r) => r.rawText).join('\n'));
    assert.equal(refused.length, 6);
    for (const r of refused) assertError(r, 400, 'STORE_MAXIMUM');
    const stored = await storedStores(racer.merchant.merchant.id);
    assert.equal(stored.length, 10);
    const okIds = ok.map((r) => (r.body as { item: Store }).item.id).sort();
    assert.deepEqual(
      stored.filter((s) => !s.isDefault).map((s) => s.id).sort(),
      okIds,
    );
    assert.equal((await listAll(racer)).meta['total'], 10);
  });

  // ---- validation ------------------------------------------------------------------------------------------

  test('create validation: each bad input → 400 VALIDATION_ERROR and nothing written', async () => {
    const checker = await createDeveloper(server, { companyName: 'Validation Co' });
    const merchantId = checker.merchant.merchant.id;
    const cases: [string, unknown][] = [
      ...['name', 'addressLine1', 'postCode', 'city', 'state', 'country', 'countryCode', 'phoneNumber'].map(
        (field) => [`missing ${field}`, without(field)] as [string, unknown],
      ),
      ['name 101 chars', validInput({ name: 'n'.repeat(101) })],
      ['name empty', validInput({ name: '' })],
      ['addressLine1 201 chars', validInput({ addressLine1: 'a'.repeat(201) })],
      ['addressLine2 201 chars', validInput({ addressLine2: 'a'.repeat(201) })],
      ['postCode 17 chars', validInput({ postCode: '1'.repeat(17) })],
      ['city 101 chars', validInput({ city: 'c'.repeat(101) })],
      ['state 101 chars', validInput({ state: 's'.repeat(101) })],
      ['country 101 chars', validInput({ country: 'm'.repeat(101) })],
      ['countryCode letters', validInput({ countryCode: '6a' })],
      ['countryCode with plus', validInput({ countryCode: '+60' })],
      ['countryCode 5 digits', validInput({ countryCode: '12345' })],
      ['countryCode as number', validInput({ countryCode: 60 })],
      ['phoneNumber 21 digits', validInput({ phoneNumber: '1'.repeat(21) })],
      ['phoneNumber with dash', validInput({ phoneNumber: '377-334080' })],
      ['latitude 90.0001', validInput({ geoLocation: { latitude: 90.0001, longitude: 0 } })],
      ['latitude -90.0001', validInput({ geoLocation: { latitude: -90.0001, longitude: 0 } })],
      ['longitude -180.5', validInput({ geoLocation: { latitude: 0, longitude: -180.5 } })],
      ['longitude 180.5', validInput({ geoLocation: { latitude: 0, longitude: 180.5 } })],
      ['latitude as string', validInput({ geoLocation: { latitude: '3.1', longitude: 101.6 } })],
      ['geoLocation without longitude', validInput({ geoLocation: { latitude: 3.1 } })],
      ['geoLocation a string', validInput({ geoLocation: '3.1,101.6' })],
      ['name a number', validInput({ name: 5 })],
      ['name null', validInput({ name: null })],
      ['addressLine2 a number', validInput({ addressLine2: 7 })],
      ['body an array', [validInput()]],
      ['body a string', 'store'],
      ['body null', null],
      ['body empty object', {}],
    ];
    for (const [label, body] of cases) {
      const res = await checker.client.send('POST', '/v3/store', { body });
      assertError(res, 400, 'VALIDATION_ERROR', label);
    }
    const stored = await storedStores(merchantId);
    assert.equal(stored.length, 1, 'only the default store exists');
    assert.equal((await listAll(checker)).meta['total'], 1);
  });

  test('create validation: blank (whitespace-only) required text → 400 VALIDATION_ERROR and nothing written', async () => {
    const checker = await createDeveloper(server, { companyName: 'Blank Co' });
    for (const field of ['name', 'addressLine1', 'postCode', 'city', 'state', 'country']) {
      const res = await checker.client.send('POST', '/v3/store', { body: validInput({ [field]: '   ' }) });
      assertError(res, 400, 'VALIDATION_ERROR', `blank ${field}`);
    }
    assert.equal((await storedStores(checker.merchant.merchant.id)).length, 1);
  });

  test('create validation: a NUL character in a text field → 400 VALIDATION_ERROR and nothing written (never a 500)', async () => {
    const checker = await createDeveloper(server, { companyName: 'Nul Co' });
    for (const field of ['name', 'addressLine1', 'addressLine2', 'postCode', 'city', 'state', 'country']) {
      const res = await checker.client.send('POST', '/v3/store', { body: validInput({ [field]: 'a\u0000b' }) });
      assertError(res, 400, 'VALIDATION_ERROR', `NUL in ${field}`);
    }
    const id = checker.merchant.store.id;
    assertError(await checker.client.send('PATCH', `/v3/store/${id}`, { body: { name: 'a\u0000b' } }), 400, 'VALIDATION_ERROR', 'PATCH NUL');
    const stored = await storedStores(checker.merchant.merchant.id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.name, 'Nul Co');
  });

  test('create validation: a lone UTF-16 surrogate in a text field → 400 VALIDATION_ERROR, nothing written; an escaped pair is stored as sent', async () => {
    const checker = await createDeveloper(server, { companyName: 'Surrogate Co' });
    // JSON.stringify writes a lone surrogate as an escape (\ud800), the only way one can reach the server.
    for (const lone of ['a\ud800b', 'a\udfffb', '\ud83d']) {
      for (const field of ['name', 'addressLine1', 'addressLine2', 'postCode', 'city', 'state', 'country']) {
        const res = await checker.client.send('POST', '/v3/store', { body: validInput({ [field]: lone }) });
        assertError(res, 400, 'VALIDATION_ERROR', `lone surrogate in ${field}`);
        assert.match(String((res.body as { error: { message: string } }).error.message), /lone surrogate/);
      }
    }
    const id = checker.merchant.store.id;
    assertError(await checker.client.send('PATCH', `/v3/store/${id}`, { body: { name: 'a\ud800b' } }), 400, 'VALIDATION_ERROR', 'PATCH lone surrogate');
    const stored = await storedStores(checker.merchant.merchant.id);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.name, 'Surrogate Co');

    // A well-formed pair written as two escapes is ordinary text.
    const body = JSON.stringify(validInput({ name: 'Kopi ☕' })).replace('☕', '\\ud83d\\ude00');
    const created = await fetch(`${server.url}/v3/store`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await checker.client.getAccessToken()}`, 'content-type': 'application/json' },
      body,
    });
    const answer = (await created.json()) as { item: Store };
    assert.equal(created.status, 200, JSON.stringify(answer));
    assert.equal(answer.item.name, 'Kopi \u{1F600}');
    const fetched = await checker.client.stores.get(answer.item.id);
    assert.equal(fetched.item.name, 'Kopi \u{1F600}');
  });

  test('address text is upper-cased letter by letter: ß and ligatures stay, so a store at the limits reads back and saves back', async () => {
    const checker = await createDeveloper(server, { companyName: 'Strasse Co' });
    const input = validInput({ addressLine1: `jalan straße ${'ß'.repeat(187)}`, city: 'ﬃ'.repeat(100), state: 'çà', country: 'ǆ𐐨' });
    const created = await checker.client.stores.create(input as unknown as CreateStoreRequest);
    assert.equal(created.item.addressLine1, `JALAN STRAßE ${'ß'.repeat(187)}`);
    assert.equal(created.item.addressLine1.length, 200);
    assert.equal(created.item.city, 'ﬃ'.repeat(100));
    assert.deepEqual([created.item.state, created.item.country], ['ÇÀ', 'Ǆ𐐀']);
    // What GET returns is valid input again (SDKs that PATCH every field do exactly this).
    const { item } = await checker.client.stores.get(created.item.id);
    const saved = await checker.client.send('PATCH', `/v3/store/${item.id}`, {
      body: { name: item.name, addressLine1: item.addressLine1, addressLine2: item.addressLine2, postCode: item.postCode, city: item.city, state: item.state, country: item.country },
    });
    assert.equal(saved.status, 200, saved.rawText);
    const [row] = (await storedStores(checker.merchant.merchant.id)).filter((stored) => stored.id === item.id);
    assert.deepEqual([row?.addressLine1, row?.city], [item.addressLine1, item.city]);
  });

  test('create validation: values at each limit are accepted and stored exactly', async () => {
    const checker = await createDeveloper(server, { companyName: 'Edge Co' });
    const cases: [string, Record<string, unknown>, (s: Store) => void][] = [
      ['name 100 chars', { name: 'N'.repeat(100) }, (s) => assert.equal(s.name, 'N'.repeat(100))],
      ['addressLine1 200 chars', { addressLine1: 'a'.repeat(200) }, (s) => assert.equal(s.addressLine1, 'A'.repeat(200))],
      ['addressLine2 200 chars', { addressLine2: 'b'.repeat(200) }, (s) => assert.equal(s.addressLine2, 'B'.repeat(200))],
      ['postCode 16 chars', { postCode: '1'.repeat(16) }, (s) => assert.equal(s.postCode, '1'.repeat(16))],
      ['city/state/country 100 chars', { city: 'c'.repeat(100), state: 's'.repeat(100), country: 'm'.repeat(100) }, (s) => {
        assert.equal(s.city, 'C'.repeat(100));
        assert.equal(s.state, 'S'.repeat(100));
        assert.equal(s.country, 'M'.repeat(100));
      }],
      ['countryCode 4 digits', { countryCode: '1234' }, (s) => assert.equal(s.countryCode, '1234')],
      ['phoneNumber 20 digits', { phoneNumber: '9'.repeat(20) }, (s) => assert.equal(s.phoneNumber, '9'.repeat(20))],
      ['latitude 90, longitude -180', { geoLocation: { latitude: 90, longitude: -180 } }, (s) => assert.deepEqual(s.geoLocation, { latitude: 90, longitude: -180 })],
      ['latitude -90, longitude 180', { geoLocation: { latitude: -90, longitude: 180 } }, (s) => assert.deepEqual(s.geoLocation, { latitude: -90, longitude: 180 })],
      ['empty addressLine2', { addressLine2: '' }, (s) => assert.equal(s.addressLine2, '')],
    ];
    for (const [label, overrides, check] of cases) {
      const res = await checker.client.send('POST', '/v3/store', { body: validInput(overrides) });
      const item = assertOk<{ item: Store }>(res, label).item;
      check(item);
      const got = assertOk<{ item: Store }>(await checker.client.send('GET', `/v3/store/${item.id}`), label).item;
      check(got);
      await checker.client.stores.delete(item.id);
    }
    assert.equal((await storedStores(checker.merchant.merchant.id)).length, 1);
  });

  test('malformed JSON → 400 INVALID_REQUEST on POST and PATCH, nothing written or changed', async () => {
    const checker = await createDeveloper(server, { companyName: 'Malformed Co' });
    const token = await checker.client.getAccessToken();
    const post = (path: string, method: string, body: string) =>
      fetch(`${server.url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body });
    for (const text of ['{"name":', '{name: "x"}', "{'name':'x'}", '{"name":"x",}']) {
      const res = await post('/v3/store', 'POST', text);
      assert.equal(res.status, 400, text);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'INVALID_REQUEST', text);
    }
    assert.equal((await storedStores(checker.merchant.merchant.id)).length, 1);

    const id = checker.merchant.store.id;
    const before = await server.running.storage.stores.get(checker.merchant.merchant.id, id);
    const res = await post(`/v3/store/${id}`, 'PATCH', '{"name":"x"');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'INVALID_REQUEST');
    assert.deepEqual(await server.running.storage.stores.get(checker.merchant.merchant.id, id), before);
  });

  // ---- list ------------------------------------------------------------------------------------------------

  test('list pagination: 10 stores at limit=3 → pages of 3,3,3,1 chained by meta.cursor, ascending, no duplicates', async () => {
    const pager = await createDeveloper(server, { companyName: 'Pager Co' });
    await createMany(pager, 9);
    const expectedIds = (await storedStores(pager.merchant.merchant.id)).map((s) => s.id).sort();
    assert.equal(expectedIds.length, 10);

    const sizes: number[] = [];
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const body = assertOk<{ items: Record<string, unknown>[]; code: string; meta: Record<string, unknown> }>(
        await pager.client.send('GET', '/v3/stores', { query: { limit: 3, cursor } }),
      );
      assert.deepEqual(Object.keys(body).sort(), ['code', 'items', 'meta']);
      assert.equal(body.code, 'SUCCESS');
      for (const item of body.items) assertStoreShape(item);
      sizes.push(body.items.length);
      seen.push(...body.items.map((s) => s['id'] as string));
      assert.equal(body.meta['count'], body.items.length);
      assert.equal(body.meta['total'], 10);
      if (body.meta['cursor'] === undefined) {
        assert.deepEqual(Object.keys(body.meta).sort(), ['count', 'total']);
        break;
      }
      assert.deepEqual(Object.keys(body.meta).sort(), ['count', 'cursor', 'total']);
      assert.equal(typeof body.meta['cursor'], 'string');
      cursor = body.meta['cursor'] as string;
    }
    assert.deepEqual(sizes, [3, 3, 3, 1]);
    assert.equal(new Set(seen).size, seen.length, 'no duplicates');
    const ascending = [...seen].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    assert.deepEqual(seen, ascending, 'ids ascending');
    assert.deepEqual([...seen].sort(), expectedIds);

    // A page that ends exactly at the last store has no cursor; the default page holds all 10.
    const exact = await listAll(pager, { limit: 10 });
    assert.equal(exact.items.length, 10);
    assert.equal('cursor' in exact.meta, false);
    const all = await listAll(pager);
    assert.deepEqual(all.meta, { count: 10, total: 10 });
  });

  test('list limit: 1 and 100 accepted; 101, 0, -1, 1.5 and abc → 400 VALIDATION_ERROR', async () => {
    const one = await listAll(dev, { limit: 1 });
    assert.equal(one.items.length, 1);
    assert.equal(one.meta['count'], 1);
    const hundred = await listAll(dev, { limit: 100 });
    assert.equal(hundred.meta['count'], hundred.items.length);
    assert.equal('cursor' in hundred.meta, false);
    for (const limit of ['101', '0', '-1', '1.5', 'abc', '100000']) {
      assertError(await dev.client.send('GET', '/v3/stores', { query: { limit } }), 400, 'VALIDATION_ERROR', `limit=${limit}`);
    }
  });

  test('list with a bad cursor → 400 VALIDATION_ERROR', async () => {
    for (const cursor of ['garbage!!', Buffer.from('id:abc').toString('base64url'), Buffer.from('1234').toString('base64url'), 'x'.repeat(65), '%%%']) {
      assertError(await dev.client.send('GET', '/v3/stores', { query: { cursor } }), 400, 'VALIDATION_ERROR', `cursor=${cursor}`);
    }
  });

  test('list filter updatedAt $gte returns only stores updated since then', async () => {
    const filterer = await createDeveloper(server, { companyName: 'Filter Co' });
    server.clock.advanceMs(60_000);
    const older = await create(filterer, validInput({ name: 'Older' }));
    server.clock.advanceMs(60_000);
    const since = server.clock.nowMs();
    const newer1 = await create(filterer, validInput({ name: 'Newer 1' }));
    server.clock.advanceMs(1_000);
    const newer2 = await create(filterer, validInput({ name: 'Newer 2' }));

    const filtered = assertOk<{ items: Store[]; meta: Record<string, unknown> }>(
      await filterer.client.send('GET', '/v3/stores', { query: { filter: JSON.stringify({ updatedAt: { $gte: iso(since) } }) } }),
    );
    assert.deepEqual(filtered.items.map((s) => s.id).sort(), [newer1.id, newer2.id].sort());
    assert.deepEqual(filtered.meta, { count: 2, total: 2 });

    // Through the typed client (object filter) as well.
    const typed = await filterer.client.stores.list({ filter: { updatedAt: { $gte: iso(since) } } });
    assert.deepEqual(typed.items.map((s) => s.name).sort(), ['Newer 1', 'Newer 2']);

    // Updating the older store moves it into the window.
    server.clock.advanceMs(1_000);
    await filterer.client.stores.update(older.id, { name: 'Older, touched' });
    const afterTouch = await filterer.client.stores.list({ filter: { updatedAt: { $gte: iso(since) } } });
    assert.deepEqual(afterTouch.items.map((s) => s.id).sort(), [older.id, newer1.id, newer2.id].sort());

    // A time before everything returns every store.
    const everything = await filterer.client.stores.list({ filter: { updatedAt: { $gte: '2000-01-01T00:00:00Z' } } });
    assert.equal(everything.meta.total, 4);
  });

  test('list filter bounds with microseconds (RM writes them) compare exactly against millisecond times', async () => {
    const filterer = await createDeveloper(server, { companyName: 'Micro Co' });
    server.clock.advanceMs(60_000);
    const store = await create(filterer, validInput({ name: 'At 488 ms' }));
    // The store's time as …:32.488Z (whole milliseconds), then with three more digits: …:32.488500Z.
    const updatedAtIso = new Date(Date.parse(store.updatedAt)).toISOString();
    const at = (microDigits: string) => updatedAtIso.replace(/Z$/, `${microDigits}Z`);
    const idsWhere = async (condition: Record<string, string>) =>
      (await filterer.client.stores.list({ filter: { updatedAt: condition } })).items.filter((s) => s.id === store.id).length;
    // 488.5 ms: after the store's time. 488.000 ms: exactly it.
    const cases: [Record<string, string>, number][] = [
      [{ $gte: at('500') }, 0],
      [{ $gt: at('500') }, 0],
      [{ $lt: at('500') }, 1],
      [{ $lte: at('500') }, 1],
      [{ $gte: at('000') }, 1],
      [{ $gt: at('000') }, 0],
      [{ $lt: at('000') }, 0],
      [{ $lte: at('000') }, 1],
    ];
    for (const [condition, expected] of cases) assert.equal(await idsWhere(condition), expected, JSON.stringify(condition));
  });

  test('list with a bad filter → 400 VALIDATION_ERROR', async () => {
    const filters = [
      'not json',
      '{"updatedAt":',
      '[]',
      '"updatedAt"',
      '{"name":{"$gte":"2024-01-01T00:00:00Z"}}',
      '{"createdAt":{"$gte":"2024-01-01T00:00:00Z"}}',
      '{"updatedAt":{"$gte":"yesterday"}}',
      '{"updatedAt":{"$gte":12345}}',
      '{"updatedAt":{"$regex":"2024"}}',
      '{"updatedAt":"2024-01-01T00:00:00Z"}',
    ];
    for (const filter of filters) {
      assertError(await dev.client.send('GET', '/v3/stores', { query: { filter } }), 400, 'VALIDATION_ERROR', `filter=${filter}`);
    }
  });

  // ---- isolation -------------------------------------------------------------------------------------------

  test('merchant B cannot read, change or delete merchant A\'s stores, and never lists them', async () => {
    const a = await createDeveloper(server, { companyName: 'Merchant A' });
    const b = await createDeveloper(server, { companyName: 'Merchant B' });
    const storeA = await create(a, validInput({ name: 'A private' }));
    const storeB = await create(b, validInput({ name: 'B own' }));
    server.clock.advanceMs(1_000);

    for (const id of [storeA.id, a.merchant.store.id]) {
      const before = assertOk<{ item: Store }>(await a.client.send('GET', `/v3/store/${id}`)).item;
      assertError(await b.client.send('GET', `/v3/store/${id}`), 404, 'STORE_NOT_FOUND', 'get');
      assertError(await b.client.send('PATCH', `/v3/store/${id}`, { body: { name: 'Hijacked' } }), 404, 'STORE_NOT_FOUND', 'patch');
      assertError(await b.client.send('DELETE', `/v3/store/${id}`), 404, 'STORE_NOT_FOUND', 'delete');
      const after = assertOk<{ item: Store }>(await a.client.send('GET', `/v3/store/${id}`)).item;
      assert.deepEqual(after, before, 'A\'s store is unchanged');
    }

    const aIds = new Set([storeA.id, a.merchant.store.id]);
    const listB = await listAll(b, { limit: 100 });
    assert.equal(listB.items.some((s) => aIds.has(s.id)), false);
    assert.deepEqual(listB.items.map((s) => s.id).sort(), [b.merchant.store.id, storeB.id].sort());
    assert.equal(listB.meta['total'], 2);
    // Paging with a cursor taken from A's list still shows only B's stores.
    const pageA = await listAll(a, { limit: 1 });
    const cursorA = pageA.meta['cursor'] as string;
    const viaCursor = await listAll(b, { cursor: cursorA, limit: 100 });
    assert.equal(viaCursor.items.some((s) => aIds.has(s.id)), false);
    // A's stores are still A's.
    assert.equal((await storedStores(a.merchant.merchant.id)).length, 2);
  });

  // ---- auth ------------------------------------------------------------------------------------------------

  test('an app without manage_store → 403 CLIENT_NO_PERMISSION on every store endpoint, nothing written', async () => {
    const limited = await createDeveloper(server, { scopes: ['get_merchant_profile'] });
    const id = limited.merchant.store.id;
    const calls: [string, string, unknown][] = [
      ['GET', '/v3/stores', undefined],
      ['POST', '/v3/store', validInput()],
      ['GET', `/v3/store/${id}`, undefined],
      ['PATCH', `/v3/store/${id}`, { name: 'Nope' }],
      ['DELETE', `/v3/store/${id}`, undefined],
    ];
    const before = await storedStores(limited.merchant.merchant.id);
    for (const [method, path, body] of calls) {
      const res = await limited.client.send(method, path, body === undefined ? {} : { body });
      assertError(res, 403, 'CLIENT_NO_PERMISSION', `${method} ${path}`);
    }
    assert.deepEqual(await storedStores(limited.merchant.merchant.id), before);
  });

  test('no access token → 401 TOKEN_INVALID on every store endpoint, nothing written', async () => {
    const id = dev.merchant.store.id;
    const calls: [string, string, unknown][] = [
      ['GET', '/v3/stores', undefined],
      ['POST', '/v3/store', validInput({ name: 'Anonymous' })],
      ['GET', `/v3/store/${id}`, undefined],
      ['PATCH', `/v3/store/${id}`, { name: 'Anonymous' }],
      ['DELETE', `/v3/store/${id}`, undefined],
    ];
    const before = await storedStores(dev.merchant.merchant.id);
    for (const [method, path, body] of calls) {
      const res = await dev.client.send(method, path, { accessToken: null, sign: false, ...(body === undefined ? {} : { body }) });
      assertError(res, 401, 'TOKEN_INVALID', `${method} ${path}`);
    }
    assert.deepEqual(await storedStores(dev.merchant.merchant.id), before);
  });
});
