/**
 * `kwartier`: the one CLI. Composition only: each command wires components from core, drivers,
 * edge and server. Commands load lazily, so `kwartier dsmr parse` does not load the server.
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
 */
import type { CliIO } from './command.js';
import { dispatch, type Registry } from './dispatch.js';

export const COMMANDS: Registry = {
  demo: {
    summary: 'Run the whole system on this machine with simulated devices (what `npm start` runs)',
    load: async () => (await import('./commands/demo.js')).command,
  },
  devices: {
    summary: 'List the device types a site can hold: their roles and config keys (--json)',
    load: async () => (await import('./commands/devices.js')).command,
  },
  edge: {
    summary: 'Run the edge: read the P1 meter and inverter, merge, buffer and forward snapshots',
    load: async () => (await import('./commands/edge.js')).command,
  },
  server: {
    summary: 'Run the server: ingest from MQTT, store, aggregate, serve the API and dashboard',
    load: async () => (await import('./commands/server.js')).command,
  },
  export: {
    summary: "Export a home's buckets or raw readings as CSV or JSON, read from the store",
    load: async () => (await import('./commands/export.js')).command,
  },
  'server replay-dead-letters': {
    summary: 'Replay stored dead letters through the current checks and store what now passes',
    load: async () => (await import('./commands/replay-dead-letters.js')).command,
  },
  backup: {
    summary: "Copy the server's store while it runs (SQLite online backup, or pg_dump)",
    load: async () => (await import('./commands/backup.js')).backupCommand,
  },
  restore: {
    summary: 'Put a backup made by kwartier backup into the configured store',
    load: async () => (await import('./commands/backup.js')).restoreCommand,
  },
  simulate: {
    summary: 'Simulate devices on loopback (DSMR P1 over TCP, HomeWizard, Sungrow) for tests and demos',
    load: async () => (await import('./commands/simulate.js')).command,
  },
  top: {
    summary: 'A live terminal view of one home: power flow, today, the capacity tariff, devices',
    load: async () => (await import('./commands/top.js')).command,
  },
  'dsmr parse': {
    summary: 'Parse P1 telegrams (DSMR / e-MUCS) from a file or stdin and print one JSON object per telegram',
    load: async () => (await import('./commands/dsmr-parse.js')).command,
  },
  'homewizard pair': {
    summary: 'Pair with a HomeWizard P1 meter (API v2): press its button, get a token',
    load: async () => (await import('./commands/homewizard-pair.js')).command,
  },
  'certs init': {
    summary: 'Create a device CA and a server certificate for the MQTT broker',
    load: async () => (await import('./commands/certs.js')).initCommand,
  },
  'certs device': {
    summary: 'Create a client certificate for one edge device (CN = device id)',
    load: async () => (await import('./commands/certs.js')).deviceCommand,
  },
};

export function main(argv: string[], io: CliIO = process): Promise<number> {
  return dispatch(COMMANDS, argv, io);
}
