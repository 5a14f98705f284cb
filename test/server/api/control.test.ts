/**
 * GET and PUT /api/v1/control/{device_id} on a real SQLite store and the server's bus: tokens and
 * their scope (401, 404, 403 for a read-only token), the body checked key by key (400 naming the
 * key), changes merged under a rising revision and handed to the publisher, the edge's
 * control_state (from the bus) and the quarter's budget of the newest snapshot in the answer.
 * The MQTT path itself (the ingester's connection, the edge applying it) is test/e2e/control-remote.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlAnswer } from '../../../src/core/api/control.js';
import type { ControlMessage, ControlStateMessage } from '../../../src/core/wire.js';
import { silentLogger } from '../../../src/lib/log.js';
import { createApi } from '../../../src/server/api/index.js';
import { ServerBus } from '../../../src/server/bus.js';
import { createSqliteStore, type Store } from '../../../src/server/store/index.js';
import { makeSnapshot } from '../../mqtt/gen.js';
import { auth, testConfig } from './setup.js';

const WRITE = 'write-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const OTHER = 'other-token-0123456789abcdef';
const NOW = Date.parse('2026-03-09T10:00:30Z');

const budget = {
  status: 'ok' as const,
  target_w: 2500,
  target_source: 'target' as const,
  quarter_start: '2026-03-09T10:00:00.000Z',
  remaining_s: 870,
  budget_kwh: 0.625,
  used_kwh: 0.021,
  allowed_w: 2499.3,
  projected_w: 1980.4,
  dry_run: false,
  chargers: { car: { charge: true, current_a: 6, phases: 3 as const, setpoint_w: 4140 } },
};

function state(revision: number | null, over: Partial<ControlStateMessage> = {}): ControlStateMessage {
  return {
    device_id: 'home-1',
    timestamp: '2026-03-09T10:00:29.000Z',
    revision,
    rejected: null,
    settings: {
      capacity_target_w: 2500,
      dry_run: false,
      chargers: {
        car: {
          mode: 'max_under_peak',
          energy_kwh: null,
          deadline: null,
          min_current_a: 6,
          max_current_a: 16,
          phases: 3,
        },
      },
      batteries: {},
    },
    decisions: [
      {
        at: '2026-03-09T10:00:05.000Z',
        device: 'car',
        kind: 'charger',
        reason: 'room 4300 W for 895 s: 6 A × 3',
        status: 'ok',
        setpoint: { charge: true, current_a: 6, phases: 3 },
        setpoint_w: 4140,
        following: true,
        deadline: null,
        soc_pct: null,
      },
    ],
    ...over,
  };
}

describe('GET and PUT /api/v1/control/{device_id}', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let bus: ServerBus;
  const published: Array<[string, ControlMessage]> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kw-control-api-'));
    store = createSqliteStore(join(dir, 's.db'), { timezone: 'Europe/Brussels' });
    await store.migrate();
    const gen = (deviceId: string) => ({ deviceId, startMs: NOW - 30_000 });
    await store.insert({
      deviceId: 'home-1',
      outboxId: null,
      floorSeq: null,
      readings: [
        { snapshot: makeSnapshot(gen('home-1'), 0), seq: null },
        { snapshot: { ...makeSnapshot(gen('home-1'), 29), control: budget }, seq: null },
      ],
    });
    await store.insert({
      deviceId: 'home-2',
      outboxId: null,
      floorSeq: null,
      readings: [{ snapshot: makeSnapshot(gen('home-2'), 0), seq: null }],
    });
    bus = new ServerBus({ log: silentLogger() });
    const config = testConfig(
      {},
      {
        tokens: [
          { name: 'owner', token: WRITE, devices: ['home-1'], scope: 'write' },
          { name: 'viewer', token: READ, devices: ['home-1'] },
          { name: 'neighbour', token: OTHER, devices: ['home-2'], scope: 'write' },
        ],
      },
    );
    app = await createApi({
      store,
      config,
      bus,
      now: () => NOW,
      publishControl: async (id, m) => {
        published.push([id, m]);
        return true;
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (token = READ) => app.inject({ url: '/api/v1/control/home-1', headers: auth(token) });
  const put = async (body: unknown, token = WRITE, id = 'home-1') =>
    app.inject({ method: 'PUT', url: `/api/v1/control/${id}`, headers: auth(token), payload: body as object });

  it('before any change: nothing wanted, nothing acknowledged, the newest snapshot’s budget in local time', async () => {
    const r = await get();
    expect(r.statusCode).toBe(200);
    const body = r.json() as ControlAnswer;
    expect(body).toMatchObject({ device_id: 'home-1', can_write: false, wanted: null, applied: null, sync: 'none' });
    expect(body.budget).toEqual({
      ...budget,
      quarter_start: '2026-03-09T11:00:00+01:00',
      timestamp: '2026-03-09T11:00:29+01:00',
    });
    expect(body.decisions).toEqual([]);
    expect((await get(WRITE)).json()).toMatchObject({ can_write: true });
  });

  it('a PUT needs a token (401), one holding the home (404), with scope write (403)', async () => {
    const body = { capacity_target_w: 3000 };
    expect((await app.inject({ method: 'PUT', url: '/api/v1/control/home-1', payload: body })).statusCode).toBe(401);
    expect((await put(body, OTHER)).statusCode).toBe(404);
    const ro = await put(body, READ);
    expect(ro.statusCode).toBe(403);
    expect(ro.json()).toEqual({
      error: 'forbidden',
      message: 'this token may only read: changing settings needs a token with scope: write',
    });
    // A read-only token is refused before its body is looked at.
    expect((await put({ nonsense: 1 }, READ)).statusCode).toBe(403);
    expect(published).toEqual([]);
    expect(await store.controlWanted('home-1')).toBeNull();
  });

  it('a bad body is refused naming the key, and nothing is stored', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /^body: must have at least 1 key$/],
      [{ chargers: { car: {} } }, /^chargers\.car: /],
      [{ capacity_target_w: 'lots' }, /^capacity_target_w: /],
      [{ capacity_target_w: -5 }, /^capacity_target_w: /],
      [{ dry_run: 'yes' }, /^dry_run: /],
      [{ chargers: { car: { mode: 'turbo' } } }, /^chargers\.car\.mode: /],
      [{ chargers: { car: { deadline: '7h' } } }, /^chargers\.car\.deadline: /],
      [{ chargers: { car: { mode: 'off', speed: 3 } } }, /^chargers\.car\.speed: unknown key/],
      [{ chargers: { Car: { mode: 'off' } } }, /^chargers\.Car: /],
      [{ floor_w: 2000 }, /^floor_w: unknown key/],
      [{ chargers: { car: { mode: 'deadline' } } }, /^chargers\.car: mode deadline needs energy_kwh and deadline/],
    ];
    for (const [body, message] of cases) {
      const r = await put(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error).toBe('bad_request');
      expect(r.json().message, JSON.stringify(body)).toMatch(message);
    }
    expect(await store.controlWanted('home-1')).toBeNull();
    expect(published).toEqual([]);
  });

  it('changes are merged under a rising revision and published; null gives a key back to the edge', async () => {
    const r1 = await put({
      capacity_target_w: 3000,
      chargers: { car: { mode: 'deadline', energy_kwh: 25, deadline: '07:00' } },
    });
    expect(r1.statusCode).toBe(202);
    const want1 = {
      capacity_target_w: 3000,
      chargers: { car: { mode: 'deadline', energy_kwh: 25, deadline: '07:00' } },
    };
    expect(r1.json()).toEqual({ device_id: 'home-1', revision: 1, settings: want1, published: true });
    const r2 = await put({ chargers: { car: { mode: 'max_under_peak' } }, dry_run: true });
    expect(r2.json()).toMatchObject({ revision: 2 });
    const want2 = {
      capacity_target_w: 3000,
      dry_run: true,
      chargers: { car: { mode: 'max_under_peak', energy_kwh: 25, deadline: '07:00' } },
    };
    expect(r2.json().settings).toEqual(want2);
    const r3 = await put({ capacity_target_w: null, chargers: { car: { energy_kwh: null, deadline: null } } });
    const want3 = { dry_run: true, chargers: { car: { mode: 'max_under_peak' } } };
    expect(r3.json()).toMatchObject({ revision: 3, settings: want3 });
    expect(published.map(([id, m]) => [id, m.revision, m.settings])).toEqual([
      ['home-1', 1, want1],
      ['home-1', 2, want2],
      ['home-1', 3, want3],
    ]);
    expect(published[2]?.[1].issued_at).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    const g = (await get()).json() as ControlAnswer;
    expect(g.wanted).toMatchObject({ revision: 3, settings: want3, updated_by: 'owner' });
    expect(g.sync).toBe('pending');
    // Another home's settings are its own.
    expect(await store.controlWanted('home-2')).toBeNull();
  });

  it('concurrent changes of one home are all kept, each under its own revision', async () => {
    const before = (await store.controlWanted('home-1'))?.revision ?? 0;
    const rs = await Promise.all([
      put({ chargers: { car: { mode: 'solar' } } }),
      put({ capacity_target_w: 4000 }),
      put({ dry_run: false }),
    ]);
    expect(rs.map((r) => r.statusCode)).toEqual([202, 202, 202]);
    expect(rs.map((r) => r.json().revision).sort()).toEqual([before + 1, before + 2, before + 3]);
    expect((await store.controlWanted('home-1'))?.settings).toEqual({
      dry_run: false,
      capacity_target_w: 4000,
      chargers: { car: { mode: 'solar' } },
    });
  });

  it('the edge’s control_state: applied, rejected, its decisions; a charger it lacks is refused', async () => {
    const rev = (await store.controlWanted('home-1'))?.revision ?? 0;
    bus.publish('control_state', { deviceId: 'home-1', message: state(rev - 1), retained: false });
    let g = (await get()).json() as ControlAnswer;
    expect(g.sync).toBe('pending');
    expect(g.applied).toMatchObject({ revision: rev - 1, timestamp: '2026-03-09T11:00:29+01:00' });
    expect(g.decisions).toEqual([{ ...state(rev).decisions[0], at: '2026-03-09T11:00:05+01:00' }]);
    bus.publish('control_state', { deviceId: 'home-1', message: state(rev), retained: false });
    expect(((await get()).json() as ControlAnswer).sync).toBe('applied');
    bus.publish('control_state', {
      deviceId: 'home-1',
      message: state(rev - 1, { rejected: { revision: rev, reason: 'chargers.car: mode deadline needs energy_kwh' } }),
      retained: false,
    });
    g = (await get()).json() as ControlAnswer;
    expect(g.sync).toBe('rejected');
    expect(g.applied?.rejected).toEqual({ revision: rev, reason: 'chargers.car: mode deadline needs energy_kwh' });
    // Now that the edge has said which chargers it has, another name is refused here.
    const r = await put({ chargers: { garage: { mode: 'off' } } });
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toBe('chargers.garage: the edge has no charger named garage (car)');
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await app.inject({ url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const p = doc.paths['/api/v1/control/{device_id}']!;
    expect(Object.keys(p).sort()).toEqual(['get', 'put']);
    expect(Object.keys(p.put!.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '404']));
  });
});
