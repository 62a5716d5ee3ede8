// Runs work one item at a time with a bounded line of waiters: for work anyone may ask for, so a flood is refused
// instead of piling up behind (or in front of) everyone else's.

export interface OneAtATime {
  /** Runs `work` once nothing else runs; `refuse()` is thrown at once when `waitingMax` callers already wait. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function oneAtATime(waitingMax: number, refuse: () => Error): OneAtATime {
  let running = false;
  const waiting: (() => void)[] = [];
  const next = () => {
    const wake = waiting.shift();
    if (wake) wake();
    else running = false;
  };
  return {
    async run(work) {
      if (running) {
        if (waiting.length >= waitingMax) throw refuse();
        // The finishing caller hands its turn over directly, so `running` stays true in between.
        await new Promise<void>((resolve) => waiting.push(resolve));
      } else {
        running = true;
      }
      try {
        return await work();
      } finally {
        next();
      }
    },
  };
}
