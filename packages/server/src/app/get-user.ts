// Use case: the user the access token acts for (the app owner, or the user who granted consent).
import { CatalogError } from '../lib/catalog-error.js';
import type { AppDeps, Principal } from './deps.js';
import type { UserRecord } from './ports.js';

export async function getUser(deps: AppDeps, principal: Principal): Promise<UserRecord> {
  const user = await deps.storage.users.get(principal.merchantId, principal.userId);
  if (!user) throw new CatalogError('USER_NOT_FOUND');
  return user;
}
