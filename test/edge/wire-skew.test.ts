/**
 * An edge of this release and a server of the previous one: the edge sends the fields added since
 * (SNAPSHOT_ADDED_FIELDS, `devices`) only when they hold a value, so a site that reports none of them
 * — every config of the legacy sections — sends what the released edge sent. Checked against the
 * JSON Schemas the released server validates with (test/fixtures/release/wire-schemas.json, dumped
 * from src/core/wire.ts of ae6712e; see test/fixtures/release/README.md), with a standard JSON
 * Schema validator, not with this release's code.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  batchColumnsHead,
  batchColumnsRow,
  batchFieldsFor,
  RELEASED_BATCH_FIELDS,
  snapshotWireJson,
} from '../../src/core/wire.js';
import { makeSnapshot } from '../mqtt/gen.js';

const release = JSON.parse(readFileSync(new URL('../fixtures/release/wire-schemas.json', import.meta.url), 'utf8')) as {
  batch_fields: string[];
  realtime: object;
  batch_columns: object;
  batch_item: object;
};

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
const releasedRealtime = ajv.compile(release.realtime);
const releasedBatch = ajv.compile(release.batch_columns);
const releasedItem = ajv.compile(release.batch_item);

const gen = { deviceId: 'home-skew', startMs: Date.parse('2026-11-02T09:00:00Z') };

/** A compact batch as the uplink makes it (uplink/forwarder.ts batchPayload), rows made into items as the server does. */
function batch(snaps: ReturnType<typeof makeSnapshot>[]): { payload: Record<string, unknown>; items: object[] } {
  const fields = batchFieldsFor(snaps);
  const text = `${batchColumnsHead('0123456789abcdef', 1, gen.deviceId, fields)}${snaps
    .map((s, i) => batchColumnsRow(s, i + 1, fields))
    .join(',')}]}`;
  const payload = JSON.parse(text) as { fields: string[]; rows: unknown[][] };
  const items = payload.rows.map((row) => {
    const o: Record<string, unknown> = { device_id: gen.deviceId };
    payload.fields.forEach((f, i) => {
      o[f] = row[i];
    });
    return o;
  });
  return { payload, items };
}

describe('what this edge sends, checked with the released server’s schemas', () => {
  it('the released batch fields are this release’s, less the added ones, in the same order', () => {
    expect(RELEASED_BATCH_FIELDS).toEqual(release.batch_fields);
  });

  it('a snapshot of a legacy site: realtime and batch are what the released server takes', () => {
    const snaps = [0, 1, 2].map((i) => makeSnapshot(gen, i));
    const realtime = {
      ...JSON.parse(snapshotWireJson(snaps[0]!)),
      seq: 1,
      outbox_id: '0123456789abcdef',
      floor_seq: 1,
    };
    expect(releasedRealtime(realtime), JSON.stringify(releasedRealtime.errors)).toBe(true);
    const { payload, items } = batch(snaps);
    expect(payload.fields).toEqual(release.batch_fields);
    expect(releasedBatch(payload), JSON.stringify(releasedBatch.errors)).toBe(true);
    for (const item of items) expect(releasedItem(item), JSON.stringify(releasedItem.errors)).toBe(true);
  });

  it('a device reading keeps its own fields as they are (only the top level is trimmed)', () => {
    const s = {
      ...makeSnapshot(gen, 0),
      devices: { carport: { type: 'x', stale: false, fields: { ev_power_w: null } } },
    };
    const wire = JSON.parse(snapshotWireJson(s)) as Record<string, unknown>;
    expect(wire).not.toHaveProperty('ev_power_w');
    expect(wire.devices).toEqual({ carport: { type: 'x', stale: false, fields: { ev_power_w: null } } });
  });

  it('a site that reports an added field names it, and only then (a server of this release keeps it)', () => {
    const plain = makeSnapshot(gen, 0);
    const charging = { ...makeSnapshot(gen, 1), ev_power_w: 7400 };
    expect(batchFieldsFor([plain])).toEqual(release.batch_fields);
    expect(batchFieldsFor([plain, charging])).toEqual([...release.batch_fields, 'ev_power_w']);
    const { payload } = batch([plain, charging]);
    // The released server refuses the name it does not know: such a site needs this release's server.
    expect(releasedBatch(payload)).toBe(false);
    expect(JSON.parse(snapshotWireJson(charging)).ev_power_w).toBe(7400);
  });
});
