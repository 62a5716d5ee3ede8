// Use case: a merchant plus a developer app with every scope — what `tunai init` and the demo set up.
import { allScopes } from '@tunai/client/contract';
import { createClientApp } from './create-client-app.js';
import { createMerchant } from './create-merchant.js';
import type { AppDeps } from './deps.js';

export interface OnboardedDeveloper {
  merchantId: string;
  storeId: string;
  userId: string;
  clientId: string;
  clientSecret: string;
}

export async function onboardDeveloper(
  deps: AppDeps,
  input: { companyName: string; publicKeyPem: string; redirectUris?: string[] },
): Promise<OnboardedDeveloper> {
  const { merchant, store, user } = await createMerchant(deps, { companyName: input.companyName });
  const { app, clientSecret } = await createClientApp(deps, {
    merchantId: merchant.id,
    name: `${input.companyName} app`,
    publicKeyPem: input.publicKeyPem,
    scopes: allScopes,
    redirectUris: input.redirectUris ?? [],
  });
  return { merchantId: merchant.id, storeId: store.id, userId: user.id, clientId: app.clientId, clientSecret };
}
