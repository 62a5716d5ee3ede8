// Operator use case: switch a developer app off or on. Off, it gets no token and its tokens are refused at once.
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps } from './deps.js';
import type { StoredClientApp } from './ports.js';

export async function setAppActive(deps: Pick<AppDeps, 'storage' | 'clock'>, clientId: string, isActive: boolean): Promise<StoredClientApp> {
  const app = await deps.storage.apps.setActive(clientId, isActive, deps.clock.nowMs());
  if (!app) throw new CatalogError('CLIENT_NOT_FOUND', `Developer application client not found: ${clientId}`);
  return app;
}
