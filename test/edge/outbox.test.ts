import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../src/edge/outbox.js';
import { silentLogger } from '../../src/lib/log.js';
import { makeSnapshot } from '../mqtt/gen.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.parse('2026-03-10T12:00:00Z');

let dir: string;
const open: Outbox[] = [];
function outbox(extra: Partial<ConstructorParameters<typeof Outbox>[0]> = {}): Outbox {
  const o = new Outbox({ path: join(dir, 'sub', 'buffer.sqlite'), log: silentLogger(), now: () => NOW, ...extra });
  o.open();
  open.push(o);
  return o;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kw-outbox-'));
});
afterEach(() => {
  for (const o of open.splice(0)) o.stop();
  rmSync(dir, { recursive: true, force: true });
});

const gen = { deviceId: 'home-1', startMs: NOW - 3 * DAY };

describe('Outbox', () => {
  it('uses the spec schema in WAL mode and makes a random outbox_id once', () => {
    const o = outbox();
    const id = o.outboxId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    o.stop();
    const again = outbox();
    expect(again.outboxId).toBe(id);
    again.stop();
    const db = new Database(join(dir, 'sub', 'buffer.sqlite'), { readonly: true });
    const cols = (db.prepare('PRAGMA table_info(readings)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols).toEqual(['id', 'timestamp', 'payload', 'forwarded', 'created_at']);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const other = new Outbox({ path: join(dir, 'other.sqlite'), log: silentLogger() });
    other.open();
    expect(other.outboxId).not.toBe(id);
    other.stop();
  });

  it('assigns monotonic seqs that are never reused, and commits the exact snapshot', () => {
    const o = outbox();
    const seqs = [0, 1, 2].map((i) => o.append(makeSnapshot(gen, i)));
    expect(seqs).toEqual([1, 2, 3]);
    // Deleting the newest row does not let its seq come back (AUTOINCREMENT).
    const raw = new Database(join(dir, 'sub', 'buffer.sqlite'));
    raw.prepare('DELETE FROM readings WHERE id = 3').run();
    raw.close();
    expect(o.append(makeSnapshot(gen, 3))).toBe(4);
    expect(o.lastSeq()).toBe(4);
    const rows = o.pending(0, 10);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 4]);
    expect(JSON.parse(rows[0]!.payload)).toEqual(makeSnapshot(gen, 0));
    expect(rows[2]!.timestamp).toBe(new Date(gen.startMs + 3000).toISOString());
    expect(o.pending(1, 1).map((r) => r.seq)).toEqual([2]);
    o.stop();
    expect(outbox().depth()).toBe(3); // counted again on open
  });

  it('marks rows forwarded only up to the acknowledged seq, and remembers it across restarts', () => {
    const o = outbox();
    for (let i = 0; i < 10; i++) o.append(makeSnapshot(gen, i));
    expect(o.markForwardedUpTo(6)).toBe(6);
    expect(o.depth()).toBe(4);
    expect(o.markForwardedUpTo(4)).toBe(0); // an old ack changes nothing
    expect(o.ackedSeq).toBe(6);
    expect(o.markForwardedUpTo(99)).toBe(4); // clamped to the newest row
    expect(o.ackedSeq).toBe(10);
    o.stop();
    const again = outbox();
    expect(again.ackedSeq).toBe(10);
    expect(again.depth()).toBe(0);
    again.append(makeSnapshot(gen, 10));
    expect(again.depth()).toBe(1);
  });

  it('floorSeq is the oldest row held, and the next seq when empty', () => {
    const o = outbox();
    expect(o.floorSeq()).toBe(1);
    for (let i = 0; i < 5; i++) o.append(makeSnapshot(gen, i));
    expect(o.floorSeq()).toBe(1);
    o.markForwardedUpTo(5);
    // Forwarded rows older than 24 h go: all five are 3 days old.
    expect(o.cleanup(NOW)).toEqual({ deleted: 5, evicted: 0 });
    expect(o.floorSeq()).toBe(6);
    o.append(makeSnapshot(gen, 5));
    expect(o.floorSeq()).toBe(6);
  });

  it('cleanup keeps forwarded rows for 24 h and unforwarded ones for max_age_days, counting evictions', () => {
    const o = outbox({ maxAgeDays: 2 });
    const at = (ms: number) => makeSnapshot({ deviceId: 'home-1', startMs: ms }, 0);
    o.append(at(NOW - 3 * DAY)); // 1: unforwarded, too old → evicted
    o.append(at(NOW - 30 * HOUR)); // 2: forwarded, > 24 h → deleted
    o.append(at(NOW - 30 * HOUR)); // 3: unforwarded, < 2 days → kept
    o.append(at(NOW - 23 * HOUR)); // 4: forwarded, < 24 h → kept
    o.append(at(NOW - HOUR)); // 5: unforwarded → kept
    const raw = new Database(join(dir, 'sub', 'buffer.sqlite'));
    raw.prepare('UPDATE readings SET forwarded = 1 WHERE id IN (2, 4)').run();
    raw.close();
    expect(o.cleanup(NOW)).toEqual({ deleted: 2, evicted: 1 });
    expect(o.pending(0, 10).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(o.stats.evicted).toBe(1);
    o.stop();
    expect(outbox().stats.evicted).toBe(1); // persisted
  });

  it('start() runs a cleanup and owns the periodic timer', () => {
    const o = new Outbox({ path: join(dir, 'b.sqlite'), log: silentLogger(), now: () => NOW, maxAgeDays: 1 });
    o.open();
    o.append(makeSnapshot({ deviceId: 'home-1', startMs: NOW - 2 * DAY }, 0));
    o.append(makeSnapshot({ deviceId: 'home-1', startMs: NOW }, 0));
    o.start();
    expect(o.pending(0, 10).map((r) => r.seq)).toEqual([2]);
    o.stop();
    expect(() => o.depth()).toThrow(/not open/);
  });

  it('a full disk evicts the oldest rows (forwarded first), counts them and keeps accepting snapshots', () => {
    const o = outbox({ maxBytes: 512 * 1024 });
    let seq = 0;
    let i = 0;
    // Fill well beyond the cap: appends never throw, the oldest rows make room.
    for (; i < 3000; i++) seq = o.append(makeSnapshot(gen, i));
    expect(seq).toBe(3000);
    expect(o.stats.evicted).toBeGreaterThan(0);
    expect(o.stats.appendFailures).toBe(0);
    const rows = o.pending(0, 10_000);
    const held = rows.length;
    expect(held).toBeLessThan(3000);
    // What is held is the newest, contiguous run; exactly the evicted ones are gone.
    expect(rows[0]!.seq).toBe(3000 - held + 1);
    expect(o.stats.evicted).toBe(3000 - held);
    expect(o.floorSeq()).toBe(3000 - held + 1);
    expect(o.depth()).toBe(held);
    // Forwarded rows go before unforwarded ones.
    o.markForwardedUpTo(rows[10]!.seq);
    const evictedBefore = o.stats.evicted;
    for (let k = 0; k < 5; k++) o.append(makeSnapshot(gen, i++));
    expect(o.stats.evicted - evictedBefore).toBeLessThan(11);
  });
});
