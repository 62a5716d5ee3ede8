// What every use case receives: storage, the clock and the id source (all injected, never global).
import type { Clock } from '../lib/clock.js';
import type { Ids } from '../lib/ids.js';
import type { Storage } from './ports.js';

export interface AppDeps {
  storage: Storage;
  clock: Clock;
  ids: Ids;
}

/** The caller a use case acts for, established by the OAuth layer. */
export interface Principal {
  clientId: string;
  merchantId: string;
  userId: string;
}
