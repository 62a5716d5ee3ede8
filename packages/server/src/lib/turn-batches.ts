// Groups items that arrive close together on the event loop, so they cross to a worker thread as a few messages.
export interface TurnBatches<T> {
  /**
   * Queues an item. A full batch is sent at once; otherwise the first item of a turn schedules the hand-over of
   * what is queued for the end of that turn (setImmediate). `handOverNow` sends the item (with what is queued) at
   * once: for work long enough that the receiver should start on it while this thread goes on with the turn.
   */
  add(item: T, handOverNow?: boolean): void;
  /** Hands over what is queued now. */
  flushNow(): void;
  /** Removes and returns what is queued, unsent (for answering it another way). */
  takeQueued(): T[];
}

/**
 * `itemsPerBatch` bounds each message, and a batch that fills goes at once instead of waiting for the turn to end,
 * so the worker starts on it while this thread reads the turn's other requests. Waiting for the turn made every
 * request of a burst wait for the whole burst, then for the worker's whole batch: the threads took turns instead of
 * overlapping.
 */
export function turnBatches<T>(itemsPerBatch: number, send: (batch: T[]) => void): TurnBatches<T> {
  const queued: T[] = [];
  let scheduled = false;
  const sendQueued = () => {
    if (queued.length > 0) send(queued.splice(0));
  };
  const flushNow = () => {
    scheduled = false;
    sendQueued();
  };
  return {
    add(item, handOverNow = false) {
      queued.push(item);
      if (handOverNow || queued.length >= itemsPerBatch) return sendQueued();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushNow);
      }
    },
    flushNow,
    takeQueued: () => queued.splice(0),
  };
}
