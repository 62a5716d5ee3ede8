// Storage port for the transactional outbox: events written with a state change, delivered later with recorded attempts.

export type OutboxStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface OutboxEventRecord {
  /** Stable across every attempt and re-send: the receiver's dedupe key (header X-Tunai-Event-Id). */
  id: string;
  merchantId: string;
  /** RM's eventType, e.g. PAYMENT_WEB_ONLINE. */
  eventType: string;
  /** What the event is about (a transaction id); one event per type and subject. */
  subjectId: string;
  targetUrl: string;
  /** The exact JSON body every attempt sends (fixed at commit, so retries are byte-identical). */
  body: string;
  status: OutboxStatus;
  /** Attempts started so far (incremented when a worker claims the event). */
  attempts: number;
  /** Due for an attempt at this time; null once delivered or given up. */
  nextAttemptAtMs: number | null;
  /** A worker is delivering it until then (a crashed worker's claim lapses). */
  leaseUntilMs: number | null;
  lastError: string;
  createdAtMs: number;
  updatedAtMs: number;
  deliveredAtMs: number | null;
}

/** What a new event needs; the rest of a fresh event (PENDING, due now, no attempts) follows from it. */
export type NewOutboxEvent = Pick<OutboxEventRecord, 'id' | 'merchantId' | 'eventType' | 'subjectId' | 'targetUrl' | 'body'>;

/** An event as it is written with its state change: pending and due at once. */
export function pendingOutboxEvent(event: NewOutboxEvent, nowMs: number): OutboxEventRecord {
  return {
    ...event,
    status: 'PENDING',
    attempts: 0,
    nextAttemptAtMs: nowMs,
    leaseUntilMs: null,
    lastError: '',
    createdAtMs: nowMs,
    updatedAtMs: nowMs,
    deliveredAtMs: null,
  };
}

/** A due event as a sweep picks it: which receiver it goes to decides whether a slot is free for it. */
export interface DueEvent {
  id: string;
  receiver: string;
}

export type AttemptOutcome = 'DELIVERED' | 'RETRY' | 'GAVE_UP';

export interface OutboxAttemptRecord {
  id: string;
  eventId: string;
  /** 1 for the first attempt. */
  attempt: number;
  startedAtMs: number;
  durationMs: number;
  /** The receiver's HTTP status; null when no response came (refused, timeout, blocked address). */
  httpStatus: number | null;
  error: string;
  outcome: AttemptOutcome;
}

/** What an attempt leaves behind on the event. */
export interface AttemptResult {
  status: OutboxStatus;
  nextAttemptAtMs: number | null;
  lastError: string;
  deliveredAtMs: number | null;
}

export interface OutboxListQuery {
  /** null: every merchant (operator CLI). */
  merchantId: string | null;
  status: OutboxStatus | null;
  limit: number;
  /** Newest first: the page continues below this id. */
  beforeId: string | null;
}

export interface OutboxStorage {
  /** Called inside the db transaction of the state change; false when this type and subject already has an event. */
  enqueue(event: OutboxEventRecord): Promise<boolean>;
  /**
   * PENDING events due at `nowMs` whose lease is free, oldest due first: at most `perReceiverMax` of each receiver,
   * and none of the receivers in `skipReceivers` (those already at their cap).
   */
  dueEvents(nowMs: number, limit: number, perReceiverMax: number, skipReceivers: readonly string[]): Promise<DueEvent[]>;
  /** Takes the event for one attempt if it is still due and unleased: increments attempts, sets the lease. */
  claim(eventId: string, nowMs: number, leaseUntilMs: number): Promise<OutboxEventRecord | null>;
  /**
   * Records the attempt and updates the event in one db transaction; releases the lease. A re-send accepted since the
   * claim wins over `result`: the event stays PENDING, due at the re-send's time. Resolves to the event as the attempt
   * left it, or null when a newer claim holds it (this attempt's lease lapsed; only the attempt is recorded).
   */
  finishAttempt(attempt: OutboxAttemptRecord, result: AttemptResult, nowMs: number): Promise<OutboxEventRecord | null>;
  get(eventId: string): Promise<OutboxEventRecord | null>;
  list(query: OutboxListQuery): Promise<OutboxEventRecord[]>;
  attempts(eventId: string): Promise<OutboxAttemptRecord[]>;
  /**
   * Makes the event due again now, same id and body, whatever its status; false when it is unknown. An attempt in flight
   * keeps its lease, and when it settles the event stays due: an accepted re-send always leads to one more attempt.
   */
  resend(eventId: string, nowMs: number): Promise<boolean>;
}
