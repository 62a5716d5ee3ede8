// Checks the HTTP API suites share: RM error responses, browser form posts, waiting for a notify, page headers, and
// "this request wrote nothing" by row counts.
import assert from 'node:assert/strict';
import { sql, type Kysely } from 'kysely';
import type { RawResponse, TunaiClient } from '@tunai/client';
import type { CreateCheckoutRequest } from '@tunai/client/contract';
import type { Database } from '../src/store/schema.js';

export const errorCodeOf = (res: RawResponse): unknown => (res.body as { error?: { code?: unknown } } | null)?.error?.code;

/** The response is RM's error envelope: this status, this code, and a message. */
export function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.rawText}`);
  assert.equal(errorCodeOf(res), code, res.rawText);
  assert.equal(typeof (res.body as { error: { message: unknown } }).error.message, 'string');
}

/** Polls `check` until it holds (a notify arriving, a page settling); fails naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A browser's form post that does not follow redirects, so each hop can be checked. */
export function postForm(url: string, fields: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

/** The headers every server-rendered page carries: HTML, never cached, never framed, never sniffed, no cross-site referrer. */
export function assertPageHeaders(response: Response, what: string): void {
  const headers = Object.fromEntries(
    ['content-type', 'cache-control', 'x-frame-options', 'content-security-policy', 'x-content-type-options', 'referrer-policy'].map((name) => [name, response.headers.get(name)]),
  );
  // Nothing but the page's own stylesheet and poll script, each allowed by its hash (browser tests check they run).
  const policyShape =
    /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/]{43}='; style-src 'sha256-[A-Za-z0-9+/]{43}='; img-src data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'$/;
  assert.match(String(headers['content-security-policy']), policyShape, `${what}: content-security-policy`);
  assert.deepEqual(
    { ...headers, 'content-security-policy': 'checked above' },
    {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-frame-options': 'DENY',
      'content-security-policy': 'checked above',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    },
    what,
  );
}

export interface RowCounter {
  countRows(): Promise<Record<string, number>>;
  /** Runs `act` and asserts no row was added to (or removed from) any of the tables. */
  writesNothing<T>(act: () => Promise<T>): Promise<T>;
}

/** Row counts of `tables` in the suite's database (`db` is read at call time: suites open it in `before`). */
export function rowCounter(db: () => Kysely<Database>, tables: readonly string[]): RowCounter {
  async function countRows(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of tables) {
      const result = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(db());
      out[table] = Number(result.rows[0]?.n);
    }
    return out;
  }
  async function writesNothing<T>(act: () => Promise<T>): Promise<T> {
    const before = await countRows();
    const result = await act();
    assert.deepEqual(await countRows(), before, 'nothing written');
    return result;
  }
  return { countRows, writesNothing };
}

/** A web checkout body for every wallet; its notify goes nowhere (port 9 answers nothing). */
export function webCheckoutInput(storeId: string, orderId: string, amountMinor: number): CreateCheckoutRequest {
  return {
    order: { id: orderId, title: 'Kopi', detail: '', additionalData: '', amount: amountMinor, currencyType: 'MYR' },
    method: [],
    type: 'WEB_PAYMENT',
    storeId,
    redirectUrl: 'https://shop.example/return',
    notifyUrl: 'http://127.0.0.1:9/notify',
    layoutVersion: 'v1',
  };
}

/** A web checkout nobody has paid yet. Returns its checkout id. */
export async function createWebCheckout(client: TunaiClient, storeId: string, orderId: string, amountMinor: number): Promise<string> {
  const created = await client.payment.createCheckout(webCheckoutInput(storeId, orderId, amountMinor));
  return created.item.checkoutId;
}

/** A web checkout whose payer picked TNG on the hosted page: its payment is IN_PROCESS, linked, not yet confirmed. */
export async function openTngCheckout(
  serverUrl: string,
  client: TunaiClient,
  storeId: string,
  orderId: string,
  amountMinor: number,
): Promise<{ checkoutId: string; orderId: string; transactionId: string }> {
  const checkoutId = await createWebCheckout(client, storeId, orderId, amountMinor);
  const pay = await postForm(`${serverUrl}/checkout/pay`, { checkoutId, method: 'TNG_MY' });
  assert.equal(pay.status, 303);
  const transactionId = new URL(pay.headers.get('location') ?? '', serverUrl).searchParams.get('order') ?? '';
  assert.match(transactionId, /^[0-9]{24}$/);
  return { checkoutId, orderId, transactionId };
}
