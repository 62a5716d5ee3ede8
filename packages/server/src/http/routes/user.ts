// Route: GET /v3/user.
import type { AppDeps } from '../../app/deps.js';
import { getUser } from '../../app/get-user.js';
import { itemEnvelope } from '../envelope.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { presentUser } from '../presenters.js';

export function registerUserRoutes(ctx: OpenApiContext, deps: AppDeps): void {
  openApiRoute(ctx, {
    method: 'GET',
    url: '/v3/user',
    scope: 'get_user_profile',
    signature: 'when-present',
    handler: async (_request, auth) => itemEnvelope(presentUser(await getUser(deps, auth.principal))),
  });
}
