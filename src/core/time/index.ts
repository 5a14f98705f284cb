/**
 * Time in Kwartier: clock quarters (quarter.ts, pure arithmetic) and wall-clock time, local days and
 * UTC offsets in an IANA zone (zone.ts, cheap on memory for the edge). Tariff-level calendar helpers
 * (months, ISO strings, periods) build on these in core/tariff/local-time.ts.
 */
export * from './quarter.js';
export * from './zone.js';
