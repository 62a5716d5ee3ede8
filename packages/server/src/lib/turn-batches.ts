// Groups items that arrive during one turn of the event loop, so they cross to a worker thread as a few messages.
export interface TurnBatches<T> {
  /**
   * Queues an item. The first item of a turn schedules the hand-over for the end of that turn (setImmediate); once
   * `itemsPerHandOver` are queued they are sent at once. `handOverNow` sends the item (with what is queued) at once:
   * for work long enough that the receiver should start on it while this thread goes on with the rest of the turn.
   */
  add(item: T, handOverNow?: boolean): void;
  /** Hands over what is queued now, in batches of at most the maximum. */
  flushNow(): void;
  /** Removes and returns what is queued, unsent (for answering it another way). */
  takeQueued(): T[];
}

export interface TurnBatchSizes {
  /** A batch never grows past this. */
  itemsPerBatchMax: number;
  /**
   * A turn that queues this many items hands them over without waiting for the turn to end, so the worker starts
   * on them while this thread reads the turn's other requests. Without it, every request read in one turn waits
   * for the whole turn, then for the worker's whole batch, and the two threads take turns instead of overlapping.
   */
  itemsPerHandOver: number;
}

export function turnBatches<T>(sizes: TurnBatchSizes, send: (batch: T[]) => void): TurnBatches<T> {
  const queued: T[] = [];
  let scheduled = false;
  const sendQueued = () => {
    while (queued.length > 0) send(queued.splice(0, sizes.itemsPerBatchMax));
  };
  const flushNow = () => {
    scheduled = false;
    sendQueued();
  };
  return {
    add(item, handOverNow = false) {
      queued.push(item);
      if (handOverNow || queued.length >= sizes.itemsPerHandOver) return sendQueued();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushNow);
      }
    },
    flushNow,
    takeQueued: () => queued.splice(0),
  };
}
