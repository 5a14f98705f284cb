/** Tariffs as data: the tariff file, dynamic prices, day/night, costs, totals and periods. */
export * from './bucket.js';
export * from './cost.js';
export * from './day-night.js';
export * from './local-time.js';
export * from './period.js';
export * from './prices.js';
export * from './schema.js';
export * from './simple-rates.js';
export * from './totals.js';
