// Groups items that arrive during one turn of the event loop, so they cross to a worker thread as one message.
export interface TurnBatches<T> {
  /**
   * Queues an item; the first item of a turn schedules the hand-over for the end of that turn (setImmediate).
   * `handOverNow` sends it (with what is queued) at once instead: for work long enough that the receiver should
   * start on it while this thread goes on with the rest of the turn.
   */
  add(item: T, handOverNow?: boolean): void;
  /** Hands over what is queued now, in batches of at most the maximum. */
  flushNow(): void;
  /** Removes and returns what is queued, unsent (for answering it another way). */
  takeQueued(): T[];
}

export function turnBatches<T>(itemsPerBatchMax: number, send: (batch: T[]) => void): TurnBatches<T> {
  const queued: T[] = [];
  let scheduled = false;
  const sendQueued = () => {
    while (queued.length > 0) send(queued.splice(0, itemsPerBatchMax));
  };
  const flushNow = () => {
    scheduled = false;
    sendQueued();
  };
  return {
    add(item, handOverNow = false) {
      queued.push(item);
      if (handOverNow) return sendQueued();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushNow);
      }
    },
    flushNow,
    takeQueued: () => queued.splice(0),
  };
}
