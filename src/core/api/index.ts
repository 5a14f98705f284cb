/**
 * The public API's answers, one schema each (TypeBox): the server validates and serialises with them
 * and documents them in /api/openapi.json; the dashboard (web/) and `kwartier top` import their
 * Static types, as types only. Request schemas (parameters, query strings) stay with the server's
 * routes (server/api/schemas.ts), which alone read them.
 */
export * from './access.js';
export * from './errors.js';
export * from './history.js';
export * from './insights.js';
export * from './json-schema.js';
export * from './prices.js';
export * from './realtime.js';
