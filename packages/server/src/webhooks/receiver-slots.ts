// Deliveries in flight per receiver in this process: one receiver that never answers holds at most its share of the
// process's slots, and the others keep theirs.

export class ReceiverSlots {
  private readonly inFlight = new Map<string, number>();
  /**
   * Events with an attempt under way here. A lease runs on the (sandbox) clock: moved past it mid-attempt, the event
   * looks free again, and without this the next sweep here would send it a second time while the first is still out.
   */
  private readonly eventsInFlight = new Set<string>();

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

  /** Marks an attempt at `eventId` under way here; false when one already is. */
  startEvent(eventId: string): boolean {
    if (this.eventsInFlight.has(eventId)) return false;
    this.eventsInFlight.add(eventId);
    return true;
  }

  endEvent(eventId: string): void {
    this.eventsInFlight.delete(eventId);
  }
}
