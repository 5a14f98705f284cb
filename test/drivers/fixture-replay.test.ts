/**
 * Every device type of the registry replays its recorded device answers: each fixture of
 * test/fixtures/<folder>/ that has a `<name>.expected.json` beside it is served on 127.0.0.1 by the
 * type's `replay.serve` (a fixture mode of its simulator), read by the real driver through the real
 * protocol, and its first reading must carry exactly the snapshot fields the expected file lists:
 * names, units, signs, and null for what the device did not say (docs/drivers.md, "Fixtures"); a
 * device's own values that are no snapshot field are listed apart (`device_fields`).
 * A type without a `replay` or without any expected file fails, so every new driver brings its
 * fixtures. The expected values are worked out by hand from each fixture's source (SOURCES.md).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_NUMERIC_FIELDS, SNAPSHOT_TEXT_FIELDS } from '../../src/core/snapshot.js';
import { parseWithSchema } from '../../src/core/validate.js';
import { DeviceSource, type DriverDefinition } from '../../src/drivers/definition.js';
import { DRIVERS } from '../../src/drivers/registry.js';
import type { SourceReading } from '../../src/drivers/source.js';
import { silentLogger } from '../../src/lib/log.js';
import { fastConfig } from '../helpers/device-config.js';
import { fixturePath } from '../helpers/fixtures.js';

const log = silentLogger();
const SNAPSHOT_FIELDS = new Set<string>([...SNAPSHOT_NUMERIC_FIELDS, ...SNAPSHOT_TEXT_FIELDS]);
const EXPECTED = '.expected.json';

/** A `<name>.expected.json`. */
interface Expected {
  /** Where the fixture and the values come from (details in SOURCES.md). */
  source: string;
  /** Passed to the type's `replay.serve` (e.g. HomeWizard's API version and GET /api answer). */
  serve?: Record<string, unknown>;
  /** Keys set over the type's example config (e.g. a transport, a country). */
  config?: Record<string, unknown>;
  /** The reading's snapshot fields; null = the driver must leave it out (or null). */
  fields: Record<string, unknown>;
  /**
   * The device's own values that are not snapshot fields (they stay under `devices.<name>`, e.g.
   * a Fronius' autonomy): listed here so they are checked too; default none.
   */
  device_fields?: Record<string, unknown>;
}

interface ReplayCase {
  /** The recorded answer: the one file `<name>.<ext>` beside `<name>.expected.json`. */
  fixture: string;
  expected: Expected;
}

function casesIn(dir: string): ReplayCase[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir);
  return files
    .filter((f) => f.endsWith(EXPECTED))
    .sort()
    .map((f) => {
      const name = f.slice(0, -EXPECTED.length);
      const recorded = files.filter((g) => g !== f && g.slice(0, g.lastIndexOf('.')) === name);
      if (recorded.length !== 1) {
        throw new Error(
          `${join(dir, f)}: expected one recorded file ${name}.<ext> beside it, found ${recorded.length}`,
        );
      }
      const expected = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Expected;
      if (typeof expected.source !== 'string' || typeof expected.fields !== 'object' || expected.fields === null) {
        throw new Error(`${join(dir, f)}: needs "source" (text) and "fields" (an object)`);
      }
      return { fixture: recorded[0] as string, expected };
    });
}

/** The first reading of the type's driver against the replayed fixture. */
async function replay(d: DriverDefinition, dir: string, c: ReplayCase): Promise<SourceReading> {
  if (!d.replay) throw new Error(`${d.type}: no replay`);
  const served = await d.replay.serve({
    host: '127.0.0.1',
    port: 0,
    log,
    fixture: { name: c.fixture, bytes: readFileSync(join(dir, c.fixture)) },
    read: (name) => {
      if (basename(name) !== name) throw new Error(`${c.fixture}: serve names ${name}, not a file of ${dir}`);
      return readFileSync(join(dir, name));
    },
    options: c.expected.serve ?? {},
  });
  try {
    await d.load?.();
    const raw = { ...fastConfig(d.exampleConfig, served.port), ...c.expected.config, ...served.config };
    const config = parseWithSchema(d.configSchema, raw, d.type);
    d.check?.(config as never, 'devices[0]');
    const source = new DeviceSource(
      'replay',
      d.type,
      d.roles,
      d.create(config as never, { name: 'replay', timezone: 'Europe/Brussels', log }),
    );
    let lastState = 'no state yet';
    source.onState((s, detail) => {
      lastState = detail === undefined ? s : `${s}: ${detail}`;
    });
    const first = new Promise<SourceReading>((resolve) => source.onReading(resolve));
    await source.start();
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        first,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${c.fixture}: no reading within 15 s (${lastState})`)), 15_000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      await source.stop();
    }
  } finally {
    await served.stop();
  }
}

/** The fields that are set: absent and null are the same to a snapshot; so are 0 and −0 (JSON). */
function setFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, Object.is(v, -0) ? 0 : v]),
  );
}

describe('fixture replay: every driver reads its recorded device answers', () => {
  for (const d of DRIVERS) {
    const folder = d.replay?.fixtures ?? d.type;
    const dir = fixturePath(folder);
    const cases = casesIn(dir);

    describe(d.type, () => {
      it('has recorded answers to replay', () => {
        expect(
          d.replay,
          `${d.type}: its definition has no replay (docs/drivers.md, "Fixtures": serve recorded answers on loopback)`,
        ).toBeDefined();
        expect(
          cases.length,
          `${d.type}: no test/fixtures/${folder}/<name>.expected.json beside a recorded answer (docs/drivers.md, "Fixtures")`,
        ).toBeGreaterThan(0);
      });

      for (const c of cases) {
        it.runIf(d.replay !== undefined)(
          `${folder}/${c.fixture}`,
          async () => {
            for (const k of Object.keys(c.expected.fields))
              expect(SNAPSHOT_FIELDS, `${k} in the expected file`).toContain(k);
            const r = await replay(d, dir, c);
            expect(r.source).toBe('replay');
            for (const k of Object.keys(c.expected.device_fields ?? {}))
              expect(SNAPSHOT_FIELDS, `${k} in device_fields is a snapshot field: list it in fields`).not.toContain(k);
            const own = Object.keys(r.fields).filter((k) => !SNAPSHOT_FIELDS.has(k));
            const pick = (keys: string[]) =>
              Object.fromEntries(keys.map((k) => [k, r.fields[k as keyof typeof r.fields]]));
            expect(setFields(pick(Object.keys(r.fields).filter((k) => SNAPSHOT_FIELDS.has(k))))).toEqual(
              setFields(c.expected.fields),
            );
            expect(setFields(pick(own)), "the device's own values (device_fields)").toEqual(
              setFields(c.expected.device_fields ?? {}),
            );
          },
          30_000,
        );
      }
    });
  }
});
