/**
 * Recorded SunSpec devices, in the two forms public sources give them, turned into the register map
 * a simulator serves (wire address → word):
 *
 * - A raw register dump: JSON `{"40000": 21365, …}` (adamcharnock/mate3's known systems) or CSV
 *   lines `40000, 21365` (Kheirlb/power's AXS Port dump). Served as it is.
 * - A decoded dump as `evcc sunspec HOST:PORT -i ID` prints it (evcc issues): a
 *   `--------- Model N name ---------` line per model, then `Point  value  type` lines. Encoded back
 *   with the model layouts (models.ts): value / 10^SF for integers, float32 bits, strings, and
 *   `n/a` as the type's "not implemented" value; each model at its place in a chain from 40000 with
 *   its published L. A point the recording does not show (a dump cut short) is not in the map, so
 *   reading it answers exception 2, as a point a device does not have. No end model is added:
 *   the walk ends at the exception past the last model.
 */
import type { ModelLayout, PointSpec, PointType } from './models.js';

export type RegisterMap = Map<number, number>;

/** Parses a raw dump (JSON object or CSV `address, value` lines; `#` comments). */
export function parseRegisterDump(text: string, what = 'register dump'): RegisterMap {
  const out: RegisterMap = new Map();
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const o = JSON.parse(trimmed) as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) put(out, Number(k), v, what);
    return out;
  }
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const m = /^(\d+)\s*[,;\s]\s*(-?\d+)$/.exec(line);
    if (!m) throw new Error(`${what}: line ${i + 1}: expected "address, value", got ${JSON.stringify(raw)}`);
    put(out, Number(m[1]), Number(m[2]), what);
  }
  return out;
}

function put(out: RegisterMap, address: number, value: unknown, what: string): void {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff) throw new Error(`${what}: bad address ${address}`);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -0x8000 || value > 0xffff) {
    throw new Error(`${what}: register ${address}: bad value ${String(value)}`);
  }
  out.set(address, value & 0xffff);
}

/** One model of a decoded dump: its id and its points as printed (value text, type). */
export interface DecodedModel {
  id: number;
  points: Array<{ name: string; value: string; type: string }>;
}

const MODEL_LINE = /^-+\s*Model\s+(\d+)\b.*-+\s*$/;

/** The type names `evcc sunspec` prints (gosunspec's); a line ending in anything else was cut off. */
const PRINTED_TYPES = new Set([
  'int16',
  'uint16',
  'count',
  'acc16',
  'int32',
  'uint32',
  'acc32',
  'float32',
  'int64',
  'uint64',
  'acc64',
  'enum16',
  'enum32',
  'bitfield16',
  'bitfield32',
  'sunssf',
  'string',
  'pad',
]);

/** Parses `evcc sunspec` output; lines that are no model header or complete point line are skipped. */
export function parseDecodedDump(text: string): DecodedModel[] {
  const models: DecodedModel[] = [];
  let current: DecodedModel | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = MODEL_LINE.exec(line);
    if (header) {
      current = { id: Number(header[1]), points: [] };
      models.push(current);
      continue;
    }
    if (!current) continue;
    const tokens = line.split(/\s+/);
    // A point line: NAME [value…] TYPE. A lone name, or a line whose last word is no type
    // (`DCV_SF  n/a`, `Hz  49.9  float3`), is where a recording was cut off.
    if (tokens.length < 2) continue;
    const name = tokens[0] as string;
    const type = tokens[tokens.length - 1] as string;
    if (!PRINTED_TYPES.has(type)) continue;
    const value = tokens.slice(1, -1).join(' ');
    current.points.push({ name, value, type });
  }
  return models;
}

/** The "not implemented" words of a SunSpec type (sunspec2/mb.py). */
export function notImplemented(type: PointType, size: number): number[] {
  switch (type) {
    case 'u16':
    case 'enum16':
    case 'bits16':
      return [0xffff];
    case 's16':
    case 'sf':
      return [0x8000];
    case 'acc16':
    case 'pad':
      return [0];
    case 'u32':
    case 'enum32':
    case 'bits32':
      return [0xffff, 0xffff];
    case 's32':
      return [0x8000, 0];
    case 'f32':
      return [0x7fc0, 0];
    case 'acc32':
      return [0, 0];
    case 'u64':
      return [0xffff, 0xffff, 0xffff, 0xffff];
    case 's64':
      return [0x8000, 0, 0, 0];
    case 'acc64':
      return [0, 0, 0, 0];
    case 'str':
      return new Array<number>(size).fill(0);
  }
}

/** Words of an integer of `n` registers, high word first (two's complement for negatives). */
export function intWords(value: number, n: number): number[] {
  let u = BigInt.asUintN(16 * n, BigInt(Math.round(value)));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.unshift(Number(u & 0xffffn));
    u >>= 16n;
  }
  return out;
}

export function float32Words(value: number): number[] {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  return [view.getUint16(0), view.getUint16(2)];
}

export function stringWords(text: string, size: number): number[] {
  const buf = Buffer.alloc(size * 2);
  buf.write(text, 0, size * 2, 'utf8');
  return Array.from({ length: size }, (_, i) => buf.readUInt16BE(i * 2));
}

function sizeOf(p: PointSpec): number {
  switch (p[2]) {
    case 'str':
      return Number(p[3] ?? 1);
    case 'u32':
    case 's32':
    case 'acc32':
    case 'enum32':
    case 'bits32':
    case 'f32':
      return 2;
    case 'u64':
    case 's64':
    case 'acc64':
      return 4;
    default:
      return 1;
  }
}

/** The words of one printed value of point `p` (SFs: the dump's own, by name). */
function encodePoint(p: PointSpec, text: string, sfs: ReadonlyMap<string, number>, what: string): number[] {
  const size = sizeOf(p);
  const type = p[2];
  if (text === 'n/a') return notImplemented(type, size);
  if (type === 'str') return stringWords(text, size);
  if (type === 'pad') return [Number.parseInt(text, 16) & 0xffff];
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${what}: ${p[0]}: not a number: ${JSON.stringify(text)}`);
  if (type === 'f32') return float32Words(value);
  const sfName = typeof p[3] === 'string' ? p[3] : undefined;
  const sf = sfName === undefined ? 0 : (sfs.get(sfName) ?? 0);
  return intWords(value / 10 ** sf, size);
}

/**
 * The register map of a decoded dump: `SunS` at `base`, then each model at its place with the
 * layout's published L (the device's L is not printed), its printed points encoded.
 */
export function encodeDecodedDump(
  models: readonly DecodedModel[],
  layouts: readonly ModelLayout[],
  base = 40000,
  what = 'decoded dump',
): RegisterMap {
  const out: RegisterMap = new Map([
    [base, 0x5375],
    [base + 1, 0x6e53],
  ]);
  let address = base + 2;
  for (const m of models) {
    const layout = layouts.find((l) => l.ids.includes(m.id));
    if (!layout) throw new Error(`${what}: no layout for model ${m.id}`);
    out.set(address, m.id);
    out.set(address + 1, layout.length);
    const sfs = new Map<string, number>();
    for (const pt of m.points) if (pt.type === 'sunssf' && pt.value !== 'n/a') sfs.set(pt.name, Number(pt.value));
    for (const pt of m.points) {
      const spec = layout.points.find((p) => p[0] === pt.name);
      if (!spec) throw new Error(`${what}: model ${m.id} has no point ${pt.name}`);
      encodePoint(spec, pt.value, sfs, `${what}: model ${m.id}`).forEach((w, i) => {
        out.set(address + spec[1] + i, w & 0xffff);
      });
    }
    address += 2 + layout.length;
  }
  return out;
}

/**
 * A map as runs of consecutive registers `[start, "w w w …"]` (compact data for src/); `0*N` stands
 * for N zero registers.
 */
export type RegisterRuns = ReadonlyArray<readonly [start: number, words: string]>;

export function fromRuns(runs: RegisterRuns): RegisterMap {
  const out: RegisterMap = new Map();
  for (const [start, words] of runs) {
    let address = start;
    for (const w of words.trim().split(/\s+/)) {
      const zeros = /^0\*(\d+)$/.exec(w);
      const n = zeros ? Number(zeros[1]) : 1;
      for (let i = 0; i < n; i++) out.set(address++, zeros ? 0 : Number(w));
    }
  }
  return out;
}

export function toRuns(map: ReadonlyMap<number, number>): Array<[number, string]> {
  const keys = [...map.keys()].sort((a, b) => a - b);
  const runs: Array<[number, string]> = [];
  let start = -2;
  let words: number[] = [];
  let prev = -2;
  for (const k of keys) {
    if (k !== prev + 1) {
      if (words.length) runs.push([start, packZeros(words)]);
      start = k;
      words = [];
    }
    words.push(map.get(k) ?? 0);
    prev = k;
  }
  if (words.length) runs.push([start, packZeros(words)]);
  return runs;
}

/** "1 0 0 0 … 2" with long runs of zeros as `0*N`. */
function packZeros(words: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    let j = i;
    while (j < words.length && words[j] === 0) j++;
    if (j - i >= 8) {
      out.push(`0*${j - i}`);
      i = j;
    } else {
      out.push(String(words[i]));
      i++;
    }
  }
  return out.join(' ');
}
