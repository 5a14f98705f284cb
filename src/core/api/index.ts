/**
 * The public API's answers, one schema each (TypeBox): the server serialises its answers with them
 * and documents them in /api/openapi.json; the dashboard (web/src/types.ts) imports their Static
 * types, as types only. Request schemas (parameters, query strings) stay with the server's
 * routes (server/api/schemas.ts), which alone read them.
 */
export * from './access.js';
export * from './control.js';
export * from './errors.js';
export * from './history.js';
export * from './insights.js';
export * from './json-schema.js';
export * from './prices.js';
export * from './realtime.js';
