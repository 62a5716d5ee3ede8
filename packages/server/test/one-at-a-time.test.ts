// oneAtATime: one runner, a bounded line of waiters served in order, refusals beyond it, and the line moving on
// after a failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneAtATime } from '../src/lib/one-at-a-time.js';

class Refused extends Error {}

function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test('one runs, two wait and run in order, the fourth is refused at once; a failure passes the turn on', async () => {
  const line = oneAtATime(2, () => new Refused('full'));
  const order: string[] = [];
  const first = gate();
  const running = [
    line.run(async () => {
      order.push('a start');
      await first.opened;
      order.push('a end');
      throw new Error('a failed');
    }),
    line.run(async () => void order.push('b')),
    line.run(async () => void order.push('c')),
  ];
  await assert.rejects(line.run(async () => void order.push('d')), Refused);
  assert.deepEqual(order, ['a start'], 'only the first runs while it holds its turn');
  first.open();
  const settled = await Promise.allSettled(running);
  assert.deepEqual(settled.map((s) => s.status), ['rejected', 'fulfilled', 'fulfilled']);
  assert.deepEqual(order, ['a start', 'a end', 'b', 'c']);
  // The line is empty again: the next caller runs at once.
  assert.equal(await line.run(async () => 'e'), 'e');
});
