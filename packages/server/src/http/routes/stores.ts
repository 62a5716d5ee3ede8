// Routes: GET /v3/stores, POST /v3/store, GET/PATCH/DELETE /v3/store/:storeId.
import { CreateStoreRequest, ListQuery, UpdateStoreRequest } from '@tunai/client/contract';
import { createStore } from '../../app/create-store.js';
import { CatalogError } from '../../lib/catalog-error.js';
import { deleteStore } from '../../app/delete-store.js';
import type { AppDeps } from '../../app/deps.js';
import { getStore } from '../../app/get-store.js';
import { listStores } from '../../app/list-stores.js';
import { updateStore } from '../../app/update-store.js';
import { jsonBody } from '../body.js';
import { codeEnvelope, itemEnvelope, itemsEnvelope } from '../envelope.js';
import { encodeCursor, parsePageParams, parseTimeFilter } from '../list-query.js';
import { openApiRoute, type OpenApiContext } from '../open-api.js';
import { presentStore } from '../presenters.js';
import { validate } from '../validate.js';

/** Store ids are numeric strings; anything else cannot name a store, so it is not looked up at all. */
function storeIdParam(params: unknown): string {
  const storeId = (params as { storeId?: string }).storeId ?? '';
  if (!/^[0-9]{1,24}$/.test(storeId)) throw new CatalogError('STORE_NOT_FOUND');
  return storeId;
}

const storeFieldNames = new Set(Object.keys(CreateStoreRequest.properties));

export function registerStoreRoutes(ctx: OpenApiContext, deps: AppDeps): void {
  openApiRoute(ctx, {
    method: 'GET',
    url: '/v3/stores',
    scope: 'manage_store',
    signature: 'when-present',
    handler: async (request, auth) => {
      const query = validate(ListQuery, request.query, 'query');
      const page = parsePageParams(query);
      const updated = parseTimeFilter(query.filter, 'updatedAt');
      const result = await listStores(deps, auth.principal, {
        ...page,
        updatedAtFromMs: updated.fromMs,
        updatedAtToMs: updated.toMs,
      });
      return itemsEnvelope(result.stores.map(presentStore), {
        count: result.stores.length,
        total: result.total,
        ...(result.nextCursorId ? { cursor: encodeCursor(result.nextCursorId) } : {}),
      });
    },
  });
  openApiRoute(ctx, {
    method: 'POST',
    url: '/v3/store',
    scope: 'manage_store',
    signature: 'when-present',
    handler: async (request, auth) => {
      const input = validate(CreateStoreRequest, jsonBody(request));
      return itemEnvelope(presentStore(await createStore(deps, auth.principal, input)));
    },
  });
  openApiRoute(ctx, {
    method: 'GET',
    url: '/v3/store/:storeId',
    scope: 'manage_store',
    signature: 'when-present',
    handler: async (request, auth) => itemEnvelope(presentStore(await getStore(deps, auth.principal, storeIdParam(request.params)))),
  });
  openApiRoute(ctx, {
    method: 'PATCH',
    url: '/v3/store/:storeId',
    scope: 'manage_store',
    signature: 'when-present',
    handler: async (request, auth) => {
      const input = validate(UpdateStoreRequest, jsonBody(request));
      if (!Object.keys(input).some((key) => storeFieldNames.has(key))) {
        throw new CatalogError('VALIDATION_ERROR', 'Validations error: body must contain at least one store field');
      }
      return itemEnvelope(presentStore(await updateStore(deps, auth.principal, storeIdParam(request.params), input)));
    },
  });
  openApiRoute(ctx, {
    method: 'DELETE',
    url: '/v3/store/:storeId',
    scope: 'manage_store',
    signature: 'when-present',
    handler: async (request, auth) => {
      await deleteStore(deps, auth.principal, storeIdParam(request.params));
      return codeEnvelope();
    },
  });
}
