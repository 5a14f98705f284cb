/**
 * The PVOutput exporter (src/server/exporters/pvoutput.ts) with a real SQLite store and the
 * server's bus, against a loopback stand-in for PVOutput's API written from its specification
 * (pvoutput.org/help/api_specification.html; ../shared/guide/control.md §5.3): the
 * X-Pvoutput-Apikey / X-Pvoutput-SystemId headers, addstatus.jsp (d, t, v1–v6), addbatchstatus.jsp
 * (at most 30 statuses), getstatus.jsp, statuses older than 14 days refused, and a rate limit per
 * API key answered with 403 "Exceeded … requests per hour". The clock is injected, so an hour of
 * rate limit takes no hour.
 *
 * The values PVOutput receives are checked against the snapshots themselves (counter differences
 * since the day's first reading, means over the interval), not against the store's answers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../src/core/snapshot.js';
import { parseWithSchema } from '../../../src/core/validate.js';
import { HomeModel } from '../../../src/drivers/sim/home-model.js';
import { silentLogger } from '../../../src/lib/log.js';
import { ServerBus } from '../../../src/server/bus.js';
import { PvOutputExporterSchema } from '../../../src/server/exporters/config.js';
import { PvOutputExporter } from '../../../src/server/exporters/pvoutput.js';
import { nextBoundary, parseStatusTime, statusDateTime } from '../../../src/server/exporters/pvoutput-status.js';
import { sampleHome } from '../../helpers/snapshots.js';
import { waitFor } from '../../helpers/wait.js';
import { makeStore, type TestStore } from '../../mqtt/stores.js';

const ZONE = 'Europe/Brussels';
const KEY = 'pvo-test-api-key-0123';
const SID = 4242;
const local = (iso: string): number => DateTime.fromISO(iso, { zone: ZONE }).toMillis();

interface FakeStatus {
  d: string;
  t: string;
  values: Record<string, string>;
  writes: number;
}

/** PVOutput's API as its specification describes it, on loopback. */
class FakePvOutput {
  server!: Server;
  url = '';
  up = true;
  refuseNext = false;
  limitPerHour = 60;
  readonly statuses = new Map<string, FakeStatus>();
  readonly requests: Array<{ service: string; at: number; count: number }> = [];
  readonly problems: string[] = [];
  rateLimited = 0;

  constructor(private readonly clock: () => number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => {
        body += d.toString();
      });
      req.on('end', () => {
        const [status, text, headers] = this.handle(req.method ?? '', req.url ?? '', req.headers, body);
        res.writeHead(status, { 'Content-Type': 'text/plain', ...headers });
        res.end(text);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(
    method: string,
    url: string,
    h: Record<string, string | string[] | undefined>,
    body: string,
  ): [number, string, Record<string, string>] {
    if (!this.up) return [503, 'Service Unavailable', {}];
    if (this.refuseNext && url.includes('add')) {
      this.refuseNext = false;
      this.requests.push({ service: 'refused', at: this.clock(), count: 0 });
      return [400, 'Bad request 400: Moon Powered', {}];
    }
    const service = url.replace(/\?.*$/, '').replace('/service/r2/', '');
    if (h['x-pvoutput-apikey'] !== KEY) return [401, 'Unauthorized 401: Invalid API Key', {}];
    if (h['x-pvoutput-systemid'] !== String(SID)) return [401, 'Unauthorized 401: Invalid System ID', {}];
    const now = this.clock();
    const inHour = this.requests.filter((r) => r.at > now - 3_600_000).length;
    const limitHeaders = {
      'X-Rate-Limit-Remaining': String(Math.max(0, this.limitPerHour - inHour - 1)),
      'X-Rate-Limit-Limit': String(this.limitPerHour),
      'X-Rate-Limit-Reset': String(Math.ceil((now + 3_600_000) / 1000)),
    };
    if (inHour >= this.limitPerHour) {
      this.rateLimited++;
      return [403, `Forbidden 403: Exceeded ${this.limitPerHour} requests per hour`, {}];
    }
    const form = new URLSearchParams(body);
    if (service === 'getstatus.jsp') {
      this.requests.push({ service, at: now, count: 0 });
      const last = [...this.statuses.values()].sort((a, b) => (a.d + a.t).localeCompare(b.d + b.t)).pop();
      if (!last) return [400, 'Bad request 400: No status found', limitHeaders];
      return [200, `${last.d},${last.t},${last.values.v1 ?? 'NaN'},${last.values.v2 ?? 'NaN'}`, limitHeaders];
    }
    if (method !== 'POST') return [405, 'Method Not Allowed 405: POST or GET only', {}];
    if (h['content-type'] !== 'application/x-www-form-urlencoded')
      this.problems.push(`content-type ${h['content-type']}`);
    if (service === 'addstatus.jsp') {
      this.requests.push({ service, at: now, count: 1 });
      const values = Object.fromEntries(form);
      return this.add(values, now) ?? [200, 'OK 200: Added Status', limitHeaders];
    }
    if (service === 'addbatchstatus.jsp') {
      const rows = (form.get('data') ?? '').split(';').filter((r) => r !== '');
      this.requests.push({ service, at: now, count: rows.length });
      if (rows.length > 30) return [400, 'Bad request 400: Batch size exceeded', {}];
      const answer: string[] = [];
      for (const row of rows) {
        const [d = '', t = '', v1, v2, v3, v4, v5, v6] = row.split(',');
        const values = Object.fromEntries(
          Object.entries({ d, t, v1, v2, v3, v4, v5, v6 }).filter(([, v]) => v !== undefined && v !== ''),
        ) as Record<string, string>;
        answer.push(`${d},${t},${this.add(values, now) ? 0 : 1}`);
      }
      return [200, answer.join(';'), limitHeaders];
    }
    return [404, 'Not found', {}];
  }

  /** Checks one status as PVOutput does; stores it, or returns the refusal. */
  private add(values: Record<string, string>, now: number): [number, string, Record<string, string>] | null {
    const { d, t } = values;
    if (!d || !/^\d{8}$/.test(d) || !t || !/^\d{2}:\d{2}$/.test(t))
      return [400, 'Bad request 400: Invalid date or time', {}];
    for (const [k, v] of Object.entries(values)) {
      if (k === 'd' || k === 't') continue;
      if (!/^v[1-6]$/.test(k)) this.problems.push(`unknown parameter ${k}`);
      if (!/^-?\d+(\.\d+)?$/.test(v)) return [400, `Bad request 400: Could not read [${k}]`, {}];
    }
    if (!['v1', 'v2', 'v3', 'v4'].some((k) => k in values)) return [400, 'Bad request 400: No status values', {}];
    const at = DateTime.fromFormat(`${d} ${t}`, 'yyyyLLdd HH:mm', { zone: ZONE }).toMillis();
    if (at < now - 14 * 86_400_000) return [400, `Bad request 400: Date is older than 14 days [${d}]`, {}];
    if (at > now + 60_000) return [400, `Bad request 400: Date is in the future [${d}]`, {}];
    const key = `${d} ${t}`;
    const prev = this.statuses.get(key);
    this.statuses.set(key, { d, t, values, writes: (prev?.writes ?? 0) + 1 });
    return null;
  }

  stop(): void {
    this.server.close();
  }
}

/** What PVOutput should hold for the interval ending at `end`, from the snapshots alone. */
function expectedStatus(snaps: Snapshot[], end: number, minutes: number): Record<string, string> {
  const dayStart = DateTime.fromMillis(end - 1, { zone: ZONE })
    .startOf('day')
    .toMillis();
  const day = snaps.filter((s) => Date.parse(s.timestamp) >= dayStart && Date.parse(s.timestamp) < end);
  const inInterval = day.filter((s) => Date.parse(s.timestamp) >= end - minutes * 60_000);
  const first = day[0]!;
  const last = day[day.length - 1]!;
  const diff = (k: keyof Snapshot): number => (last[k] as number) - (first[k] as number);
  const mean = (pick: (s: Snapshot) => number | null): number => {
    const xs = inInterval.map(pick).filter((x): x is number => x !== null);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const use =
    diff('grid_import_t1_kwh') +
    diff('grid_import_t2_kwh') -
    diff('grid_export_t1_kwh') -
    diff('grid_export_t2_kwh') +
    diff('pv_total_kwh') +
    diff('battery_total_discharge_kwh') -
    diff('battery_total_charge_kwh');
  return {
    // Local time of the end (none of these intervals ends at midnight).
    d: DateTime.fromMillis(end, { zone: ZONE }).toFormat('yyyyLLdd'),
    t: DateTime.fromMillis(end, { zone: ZONE }).toFormat('HH:mm'),
    v1: String(Math.round(diff('pv_total_kwh') * 1000)),
    v2: String(Math.round(mean((s) => s.pv_power_w))),
    v3: String(Math.max(0, Math.round(use * 1000))),
    v4: String(Math.round(mean((s) => s.load_power_w))),
    v6: String(Math.round(mean((s) => s.voltage_l1_v) * 10) / 10),
  };
}

describe('PVOutput times', () => {
  it('local date and time; the interval ending at midnight is 23:59 of its day, and back', () => {
    expect(statusDateTime(local('2026-05-12T14:05:00'), ZONE)).toEqual({ d: '20260512', t: '14:05' });
    expect(statusDateTime(local('2026-05-13T00:00:00'), ZONE)).toEqual({ d: '20260512', t: '23:59' });
    expect(parseStatusTime('20260512', '23:59', ZONE)).toBe(local('2026-05-13T00:00:00'));
    expect(parseStatusTime('20260512', '14:05', ZONE)).toBe(local('2026-05-12T14:05:00'));
  });

  it('intervals follow the local clock, also across the spring DST change', () => {
    expect(nextBoundary(local('2026-05-12T14:03:10'), 5, ZONE)).toBe(local('2026-05-12T14:05:00'));
    expect(nextBoundary(local('2026-05-12T14:05:00'), 15, ZONE)).toBe(local('2026-05-12T14:15:00'));
    // 29 March 2026, 02:00 CET becomes 03:00 CEST: 01:55 is followed by 03:00.
    expect(nextBoundary(local('2026-03-29T01:55:00'), 5, ZONE)).toBe(local('2026-03-29T03:00:00'));
  });
});

describe('PVOutput exporter', () => {
  let store: TestStore;
  let fake: FakePvOutput;
  let bus: ServerBus;
  let clock = 0;
  const exporters: PvOutputExporter[] = [];
  let model: HomeModel;
  const DEVICE = 'pv-home';

  beforeEach(async () => {
    store = await makeStore('sqlite');
    fake = new FakePvOutput(() => clock);
    await fake.start();
    bus = new ServerBus({ log: silentLogger() });
    model = new HomeModel({ start: local('2026-05-12T00:00:00') });
  });
  afterEach(async () => {
    for (const e of exporters.splice(0)) await e.stop();
    fake.stop();
    await store.dispose();
  });

  function exporter(extra: Record<string, unknown> = {}): PvOutputExporter {
    const config = parseWithSchema(
      PvOutputExporterSchema,
      { url: fake.url, systems: [{ device_id: DEVICE, system_id: SID, api_key: KEY }], ...extra },
      'test',
    );
    const e = new PvOutputExporter({
      config,
      store: store.store,
      timezone: ZONE,
      log: silentLogger(),
      tickMs: 10,
      now: () => clock,
    });
    exporters.push(e);
    e.start(bus);
    return e;
  }

  /** The home's snapshots every 10 s from `from` to `to` (local ISO), stored and committed. */
  async function ingest(from: string, to: string): Promise<Snapshot[]> {
    model.advanceTo(local(from));
    const snaps = sampleHome(model, DEVICE, local(to), 10_000);
    await store.store.insert({
      deviceId: DEVICE,
      outboxId: null,
      floorSeq: null,
      readings: snaps.map((s) => ({ snapshot: s, seq: null })),
    });
    for (const [i, s] of snaps.entries())
      bus.publish('committed', { deviceId: DEVICE, outboxId: 'o', seq: i, snapshot: s, live: true, committedAt: 0 });
    return snaps;
  }

  const ends = (from: string, to: string): number[] => {
    const out: number[] = [];
    for (let e = local(from); e <= local(to); e = nextBoundary(e, 5, ZONE)) out.push(e);
    return out;
  };

  it('sends each interval once with the day’s energy and the interval’s means; catches up after an outage', async () => {
    // The home's data since 10:00; the day starts at midnight: the first status of the day is 10:05.
    const snaps = await ingest('2026-05-12T10:00:00', '2026-05-12T11:00:05');
    clock = local('2026-05-12T11:00:30');
    const exp = exporter();
    await waitFor(() => fake.statuses.size === 12, '12 statuses 10:05–11:00', 10_000);
    expect(fake.requests.map((r) => r.service)).toEqual(['getstatus.jsp', 'addbatchstatus.jsp']);
    for (const end of ends('2026-05-12T10:05:00', '2026-05-12T11:00:00')) {
      const want = expectedStatus(snaps, end, 5);
      expect(fake.statuses.get(`${want.d} ${want.t}`)?.values).toEqual(want);
    }

    // PVOutput goes away for an hour; the home goes on.
    fake.up = false;
    snaps.push(...(await ingest('2026-05-12T11:00:10', '2026-05-12T12:00:05')));
    clock = local('2026-05-12T12:00:30');
    await waitFor(() => exp.stats().failures >= 1, 'a failed upload');
    expect(exp.stats().queued).toBe(12);
    fake.up = true;
    clock = local('2026-05-12T12:04:30'); // past any backoff
    await waitFor(() => fake.statuses.size === 24, 'the 12 missed intervals sent', 10_000);
    expect(fake.requests.filter((r) => r.service === 'addbatchstatus.jsp').at(-1)?.count).toBe(12);

    // Back to live: one interval due, one addstatus.
    snaps.push(...(await ingest('2026-05-12T12:00:10', '2026-05-12T12:05:15')));
    clock = local('2026-05-12T12:05:30');
    await waitFor(() => fake.statuses.size === 25, 'the live 12:05 status', 10_000);
    expect(fake.requests.at(-1)?.service).toBe('addstatus.jsp');
    for (const end of ends('2026-05-12T10:05:00', '2026-05-12T12:05:00')) {
      const want = expectedStatus(snaps, end, 5);
      const got = fake.statuses.get(`${want.d} ${want.t}`);
      expect(got?.values).toEqual(want);
      expect(got?.writes).toBe(1);
    }
    expect(fake.problems).toEqual([]);
    expect(fake.rateLimited).toBe(0);
    // The fake has the status when the request arrives; the exporter counts it once the answer is in.
    await waitFor(() => exp.stats().sent === 25, 'the exporter counting the live status', 10_000);
    expect(exp.stats()).toMatchObject({ queued: 0, sent: 25, dropped: 0 });
  });

  it('stays within the rate limit per hour, and a restart resumes after PVOutput’s last status', async () => {
    fake.limitPerHour = 3;
    await ingest('2026-05-12T06:00:00', '2026-05-12T11:00:05');
    clock = local('2026-05-12T11:00:30');
    // 60 intervals with data (06:05–11:00), 10 intervals per request, three requests an hour. The
    // day starts at midnight: the first request that sends anything holds 06:05–06:40 (8 statuses).
    const first = exporter({ rate_limit_per_hour: 3, batch_size: 10 });
    await waitFor(() => fake.statuses.size === 18, 'two batches in the first hour', 10_000);
    await new Promise((r) => setTimeout(r, 200)); // many ticks: nothing more this hour
    expect(fake.requests.map((r) => r.service)).toEqual(['getstatus.jsp', 'addbatchstatus.jsp', 'addbatchstatus.jsp']);
    expect(fake.statuses.size).toBe(18);
    await first.stop();

    // A new exporter (a server restart) in the next hour: asks PVOutput where it stands, goes on.
    clock += 3_600_000;
    const second = exporter({ rate_limit_per_hour: 3, batch_size: 10 });
    await waitFor(() => fake.statuses.size === 38, 'two more batches in the next hour', 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.statuses.size).toBe(38);
    clock += 3_600_000;
    await waitFor(() => fake.statuses.size === 60, 'the rest in the hour after', 10_000);
    expect(fake.rateLimited).toBe(0);
    for (const st of fake.statuses.values()) expect(st.writes).toBe(1);
    expect([...fake.statuses.keys()].sort().at(-1)).toBe('20260512 11:00');
    expect(second.requests).toBe(6);
  });

  it('skips intervals older than 14 days, and statuses PVOutput refuses', async () => {
    await ingest('2026-05-12T10:00:00', '2026-05-12T10:30:05');
    fake.statuses.set('20260512 10:00', { d: '20260512', t: '10:00', values: { v1: '0' }, writes: 1 });
    // Fifteen days after PVOutput's last status the data is too old to send: nothing waits.
    clock = local('2026-05-27T10:02:00');
    const exp = exporter();
    await waitFor(() => fake.requests.length === 1, 'getstatus', 10_000);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.requests).toHaveLength(1);
    expect(fake.statuses.size).toBe(1);
    expect(exp.stats().queued).toBe(0);

    // Today's first two intervals are refused (400): skipped, counted; the next goes through.
    fake.refuseNext = true;
    await ingest('2026-05-27T10:00:00', '2026-05-27T10:10:05');
    clock = local('2026-05-27T10:10:30');
    await waitFor(() => exp.stats().dropped === 2, 'the refused statuses counted', 10_000);
    await ingest('2026-05-27T10:10:10', '2026-05-27T10:15:15');
    clock = local('2026-05-27T10:15:30');
    await waitFor(() => fake.statuses.has('20260527 10:15'), 'the next status', 10_000);
    expect(fake.statuses.has('20260527 10:10')).toBe(false);
    await waitFor(() => exp.stats().sent === 1, 'the exporter counting the status sent', 10_000);
    expect(exp.stats()).toMatchObject({ sent: 1, dropped: 2, queued: 0 });
  });
});
