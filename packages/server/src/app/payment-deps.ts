// What payment use cases receive beyond storage, clock and ids: the connectors and the closed-loop settings.
import type { OutboundPolicy } from '../domain/outbound-url.js';
import type { ConnectorRegistry } from './connector.js';
import type { AppDeps } from './deps.js';

export interface PaymentSettings {
  /** How long POST /v3/payment/quickpay waits for a final result before answering IN_PROCESS (0: answer at once). */
  quickPayWaitMs: number;
  /** A worker's claim on a transaction lasts this long; a crashed worker's claim lapses after it. Covers one upstream call. */
  leaseMs: number;
  /** A merchant may reverse for this long after creation. */
  reverseWindowMs: number;
  /** How long the reverse endpoint waits for a step already in flight (real time). */
  reverseWaitMs: number;
  /** How soon an unanswered refund is retried with the same refund id. */
  refundRetryMs: number;
  /** Real waiting between closed-loop steps inside a request (injected so nothing sleeps in tests). */
  sleep: (durationMs: number) => Promise<void>;
}

export interface PaymentDeps extends AppDeps {
  connectors: ConnectorRegistry;
  payments: PaymentSettings;
  /** The public base URL the hosted pages are served from (checkout url, qrCodeUrl, the sandbox wallet). */
  publicBaseUrl: string;
  /** Which guarded ranges outbound URLs (notifyUrl) may name: link-local and metadata, loopback and private. */
  outboundPolicy: OutboundPolicy;
  /** Asks the outbox worker to deliver soon; called after a commit that wrote outbox events. */
  wakeOutbox: () => void;
}
