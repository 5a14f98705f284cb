/** The Flemish capacity tariff: quarters and monthly peaks, billing, forecast, alerts, the API answer. */
export * from './alert.js';
export * from './billing.js';
export * from './forecast.js';
export * from './quarters.js';
export * from './report.js';
