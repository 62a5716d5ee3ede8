// The wire contract: schemas, static types, enums, limits and the error catalog shared by client and server.
export * from './checkout.js';
export * from './common.js';
export * from './errors.js';
export * from './limits.js';
export * from './merchant.js';
export * from './oauth.js';
export * from './payment.js';
export * from './sandbox.js';
export * from './scopes.js';
export * from './store.js';
export * from './tool.js';
export * from './user.js';
export * from './webhooks.js';
