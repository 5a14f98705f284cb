/** Tariffs as data: the tariff file, region presets, time-of-use bands, dynamic prices, costs, totals and periods. */
export * from './bucket.js';
export * from './cost.js';
export * from './day-night.js';
export * from './local-time.js';
export * from './period.js';
export * from './prices.js';
export * from './regions.js';
export * from './schema.js';
export * from './simple-rates.js';
export * from './time-of-use.js';
export * from './totals.js';
