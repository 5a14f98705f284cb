/**
 * The exporters the server config asks for (`exporters:`, exporters/config.ts), and their figures
 * as Prometheus metrics:
 *
 *   kwartier_exporter_queued{exporter}          gauge    points or statuses waiting
 *   kwartier_exporter_sent_total{exporter}      counter  delivered
 *   kwartier_exporter_dropped_total{exporter}   counter  given up (memory bound, refused, too old)
 *   kwartier_exporter_failures_total{exporter}  counter  failed requests (retried)
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log.js';
import type { ServerConfig } from '../config.js';
import type { Store } from '../store/types.js';
import { InfluxDbExporter } from './influxdb.js';
import { PvOutputExporter } from './pvoutput.js';
import type { Exporter } from './types.js';

export type { Exporter, ExporterStats } from './types.js';

export function createExporters(config: ServerConfig, deps: { store: Store; log: Logger }): Exporter[] {
  const out: Exporter[] = [];
  const { influxdb, pvoutput } = config.exporters;
  if (influxdb?.enabled)
    out.push(new InfluxDbExporter({ config: influxdb, log: deps.log.child({ exporter: 'influxdb' }) }));
  if (pvoutput?.enabled)
    out.push(
      new PvOutputExporter({
        config: pvoutput,
        store: deps.store,
        timezone: config.timezone,
        log: deps.log.child({ exporter: 'pvoutput' }),
      }),
    );
  return out;
}

/** Registers the exporters' figures on `registry`, read at each scrape. */
export function registerExporterMetrics(registry: Registry, exporters: readonly Exporter[]): void {
  if (exporters.length === 0) return;
  const registers = [registry];
  new Gauge({
    name: 'kwartier_exporter_queued',
    help: 'Points or statuses waiting to be exported.',
    labelNames: ['exporter'],
    registers,
    collect() {
      for (const e of exporters) this.set({ exporter: e.name }, e.stats().queued);
    },
  });
  const counter = (name: string, help: string, pick: (e: Exporter) => number): void => {
    let last = new Map<string, number>();
    new Counter({
      name,
      help,
      labelNames: ['exporter'],
      registers,
      collect() {
        const now = new Map<string, number>();
        for (const e of exporters) {
          const v = pick(e);
          const inc = v - (last.get(e.name) ?? 0);
          if (inc > 0) this.inc({ exporter: e.name }, inc);
          else if (!last.has(e.name)) this.inc({ exporter: e.name }, 0);
          now.set(e.name, v);
        }
        last = now;
      },
    });
  };
  counter('kwartier_exporter_sent_total', 'Points or statuses delivered by the exporter.', (e) => e.stats().sent);
  counter(
    'kwartier_exporter_dropped_total',
    'Points or statuses given up (memory bound, refused, too old).',
    (e) => e.stats().dropped,
  );
  counter(
    'kwartier_exporter_failures_total',
    'Exporter requests that failed and were retried.',
    (e) => e.stats().failures,
  );
}
