// The worker threads behind auth: RSA (signatures opened, tokens signed) off the event loop, nonces spent in their own SQLite file.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverDigestFromBytes } from '@tunai/client/signature';
import { startRsaWorker } from '../src/auth/rsa-work.js';
import { turnBatches } from '../src/lib/turn-batches.js';
import { nonceFilePath, startNonceWorker } from '../src/store/nonce-claims.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

describe('turn batches', () => {
  test('a batch that fills is handed over at once, in arrival order; the rest when the turn ends', async () => {
    const sent: number[][] = [];
    const batches = turnBatches<number>(8, (batch) => sent.push(batch));
    for (let item = 0; item < 20; item++) batches.add(item);
    // Still inside the turn: the first sixteen are already on their way.
    assert.deepEqual(sent, [
      [0, 1, 2, 3, 4, 5, 6, 7],
      [8, 9, 10, 11, 12, 13, 14, 15],
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, [
      [0, 1, 2, 3, 4, 5, 6, 7],
      [8, 9, 10, 11, 12, 13, 14, 15],
      [16, 17, 18, 19],
    ]);
    assert.deepEqual(batches.takeQueued(), []);
  });

  test('handOverNow sends what is queued with the item; an item taken back is not sent', async () => {
    const sent: number[][] = [];
    const batches = turnBatches<number>(8, (batch) => sent.push(batch));
    for (let item = 0; item < 3; item++) batches.add(item);
    assert.deepEqual(sent, []);
    batches.add(3, true);
    assert.deepEqual(sent, [[0, 1, 2, 3]]);
    batches.add(4);
    assert.deepEqual(batches.takeQueued(), [4]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sent, [[0, 1, 2, 3]]);
  });
});

describe('RSA worker', () => {
  const keys = [0, 1, 2].map(() => generateKeyPairSync('rsa', { modulusLength: 2048 }));
  const rsa = startRsaWorker();
  after(() => rsa.close());

  test('300 signatures opened in one turn, mixed keys and forgeries: each answer equals the inline one', async () => {
    const cases = Array.from({ length: 300 }, (_, i) => {
      const signer = keys[i % 3]!;
      const checker = i % 7 === 0 ? keys[(i + 1) % 3]! : signer;
      let signature = sign('sha256', Buffer.from(`plaintext ${i}`), signer.privateKey);
      if (i % 11 === 0) signature = Buffer.from(signature.map((byte, at) => (at === 100 ? byte ^ 1 : byte)));
      if (i % 13 === 0) signature = signature.subarray(1);
      return { i, signature, publicKey: checker.publicKey };
    });
    const answers = await Promise.all(cases.map((c) => rsa.recoverDigest(c.signature, c.publicKey)));
    let opened = 0;
    cases.forEach((c, index) => {
      const inline = recoverDigestFromBytes(c.signature, c.publicKey);
      assert.deepEqual(answers[index], inline, `case ${c.i}`);
      if (inline !== null) {
        opened++;
        assert.deepEqual(inline, sha256(`plaintext ${c.i}`));
      }
    });
    // The forgeries really were refused and the rest really opened, so the comparison above compared something.
    assert.ok(opened > 150 && opened < 300, `opened ${opened}`);
  });

  test('signatures made in one turn, mixed with openings: each equals the calling thread\'s and verifies', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => Buffer.from(`header.payload-${i}`));
    const opened = sign('sha256', Buffer.from('opened alongside'), keys[1]!.privateKey);
    const [digest, ...signatures] = await Promise.all([
      rsa.recoverDigest(opened, keys[1]!.publicKey),
      ...inputs.map((input, i) => rsa.signSha256(input, keys[i % 3]!.privateKey)),
    ]);
    assert.deepEqual(digest, sha256('opened alongside'));
    signatures.forEach((signature, i) => {
      // PKCS#1 v1.5 is deterministic, so the worker's signature must be byte-for-byte the inline one.
      assert.deepEqual(signature, sign('sha256', inputs[i]!, keys[i % 3]!.privateKey), `item ${i}`);
      assert.ok(verify('sha256', inputs[i]!, keys[i % 3]!.publicKey, signature as Buffer));
    });
  });

  test('signing with a key that cannot sign rejects that one call only', async () => {
    const [bad, good] = await Promise.allSettled([
      rsa.signSha256(Buffer.from('x'), keys[0]!.publicKey),
      rsa.signSha256(Buffer.from('y'), keys[0]!.privateKey),
    ]);
    assert.equal(bad.status, 'rejected');
    assert.match(String(bad.reason), /RSA signing failed/);
    assert.equal(good.status, 'fulfilled');
    assert.ok(verify('sha256', Buffer.from('y'), keys[0]!.publicKey, good.value), 'the other call in the batch still signs correctly');
  });

  test('after close, signatures are still opened (on the calling thread)', async () => {
    const worker = startRsaWorker();
    const signature = sign('sha256', Buffer.from('late'), keys[0]!.privateKey);
    const pending = worker.recoverDigest(signature, keys[0]!.publicKey);
    await worker.close();
    assert.deepEqual(await pending, sha256('late'));
    assert.deepEqual(await worker.recoverDigest(signature, keys[0]!.publicKey), sha256('late'));
    assert.deepEqual(await worker.signSha256(Buffer.from('late'), keys[0]!.privateKey), signature);
  });
});

describe('nonce worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunai-nonces-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the nonce file sits beside the database file', () => {
    assert.equal(nonceFilePath('/data/tunai.db'), '/data/tunai-nonces.db');
    assert.equal(nonceFilePath('/data/store'), '/data/store-nonces');
    assert.equal(nonceFilePath(':memory:'), ':memory:');
  });

  test('copies of one nonce in one batch: exactly one is fresh; other apps and nonces are independent', async () => {
    const claims = startNonceWorker(join(dir, 'a.db'));
    try {
      const nowMs = 1_000_000;
      const outcomes = await Promise.all([
        ...Array.from({ length: 10 }, () => claims.claim('app-1', 'n-1', nowMs, nowMs + 600_000)),
        claims.claim('app-2', 'n-1', nowMs, nowMs + 600_000),
        claims.claim('app-1', 'n-2', nowMs, nowMs + 600_000),
      ]);
      assert.equal(outcomes.slice(0, 10).filter(Boolean).length, 1);
      assert.deepEqual(outcomes.slice(10), [true, true]);
      // Still spent inside its window, spendable again once the window has passed.
      assert.equal(await claims.claim('app-1', 'n-1', nowMs + 599_999, nowMs + 1_199_999), false);
      assert.equal(await claims.claim('app-1', 'n-1', nowMs + 600_000, nowMs + 1_200_000), true);
    } finally {
      await claims.close();
    }
  });

  test('a spent nonce stays spent for a new worker on the same file (it was committed before it was reported)', async () => {
    const file = join(dir, 'b.db');
    const firstWorker = startNonceWorker(file);
    assert.equal(await firstWorker.claim('app', 'kept', 0, 10_000), true);
    await firstWorker.close();
    const secondWorker = startNonceWorker(file);
    try {
      assert.equal(await secondWorker.claim('app', 'kept', 5_000, 15_000), false);
    } finally {
      await secondWorker.close();
    }
  });

  test('purge removes only expired nonces', async () => {
    const claims = startNonceWorker(join(dir, 'c.db'));
    try {
      await Promise.all([claims.claim('app', 'old', 0, 1_000), claims.claim('app', 'live', 0, 5_000)]);
      assert.equal(await claims.purgeExpired(2_000), 1);
      assert.equal(await claims.purgeExpired(2_000), 0);
      assert.equal(await claims.claim('app', 'live', 2_000, 7_000), false);
    } finally {
      await claims.close();
    }
  });

  test('close answers the claims already made, then refuses new ones', async () => {
    const claims = startNonceWorker(join(dir, 'd.db'));
    const pending = Array.from({ length: 20 }, (_, i) => claims.claim('app', `n-${i}`, 0, 10_000));
    await claims.close();
    assert.deepEqual(await Promise.all(pending), Array.from({ length: 20 }, () => true));
    await assert.rejects(claims.claim('app', 'late', 0, 10_000), /closed/);
  });
});
