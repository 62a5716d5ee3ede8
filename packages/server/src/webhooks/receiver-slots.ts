// Deliveries in flight per receiver in this process: one receiver that never answers holds at most its share of the
// process's slots, and the others keep theirs.

export class ReceiverSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly perReceiverMax: number) {
    if (!Number.isInteger(perReceiverMax) || perReceiverMax < 1) {
      throw new RangeError(`perReceiverMax must be a whole number of at least 1 (got ${perReceiverMax})`);
    }
  }

  /** Receivers with no slot left: a sweep does not even list their due events. */
  full(): string[] {
    return [...this.inFlight].filter(([, count]) => count >= this.perReceiverMax).map(([receiver]) => receiver);
  }

  /** Takes a slot for one attempt to `receiver`; false when it has none left. */
  take(receiver: string): boolean {
    const count = this.inFlight.get(receiver) ?? 0;
    if (count >= this.perReceiverMax) return false;
    this.inFlight.set(receiver, count + 1);
    return true;
  }

  release(receiver: string): void {
    const count = this.inFlight.get(receiver) ?? 0;
    if (count <= 1) this.inFlight.delete(receiver);
    else this.inFlight.set(receiver, count - 1);
  }

  /** Attempts under way to `receiver`. */
  count(receiver: string): number {
    return this.inFlight.get(receiver) ?? 0;
  }
}
