/**
 * P1 telegram parser (DSMR 2.2–5.0.2, Belgian e-MUCS). Takes one framed telegram (see framer.ts;
 * this module trusts the framing and does not check the CRC) and returns a P1Telegram. It never
 * throws on odd content: lines it does not map are kept as sent under `other`, malformed values of
 * the lines it maps become null.
 *
 * Written for speed (the edge parses a telegram a second, but backfills and benchmarks parse many):
 * one pass over the latin1 string with indexOf, numbers parsed as integer mantissa + decimals (exact
 * unit conversion), no regex, one object built at the end.
 */
import { DsmrFrameError, type FramedTelegram, TelegramFramer } from './framer.js';
import type { Country, MbusDevice, OtherValue, P1Telegram, PeakHistoryEntry, PowerFailure } from './telegram.js';
import { timestampIso, timestampKey } from './timestamp.js';

export interface ParseOptions {
  /** Overrides detection (0-0:96.1.4 present ⇒ 'be', else 'nl'). */
  country?: Country;
}

enum K {
  Version = 1,
  BeVersion,
  Timestamp,
  EquipmentId,
  /** 0-0:96.1.0 on channel 0: the meter's serial where 96.1.1 is not sent (Iskra IE.5). */
  SerialAlt,
  ImportT1,
  ImportT2,
  ExportT1,
  ExportT2,
  Tariff,
  PowerImport,
  PowerExport,
  L1Import,
  L2Import,
  L3Import,
  L1Export,
  L2Export,
  L3Export,
  VoltageL1,
  VoltageL2,
  VoltageL3,
  CurrentL1,
  CurrentL2,
  CurrentL3,
  AvgDemand,
  MonthPeak,
  PeakHistory,
  ExportAvgDemand,
  ExportMonthPeak,
  ImportTotal,
  ExportTotal,
  PowerFailures,
  LongPowerFailures,
  PowerFailureLog,
  SagL1,
  SagL2,
  SagL3,
  SwellL1,
  SwellL2,
  SwellL3,
  TextMessage,
  Breaker,
  Limiter,
  Fuse,
}

const OBIS_CODES: [string, K][] = [
  ['1-3:0.2.8', K.Version],
  ['0-0:96.1.4', K.BeVersion],
  ['0-0:1.0.0', K.Timestamp],
  ['0-0:96.1.1', K.EquipmentId],
  ['0-0:96.1.0', K.SerialAlt],
  ['1-0:1.8.1', K.ImportT1],
  ['1-0:1.8.2', K.ImportT2],
  ['1-0:2.8.1', K.ExportT1],
  ['1-0:2.8.2', K.ExportT2],
  ['0-0:96.14.0', K.Tariff],
  ['1-0:1.7.0', K.PowerImport],
  ['1-0:2.7.0', K.PowerExport],
  ['1-0:21.7.0', K.L1Import],
  ['1-0:41.7.0', K.L2Import],
  ['1-0:61.7.0', K.L3Import],
  ['1-0:22.7.0', K.L1Export],
  ['1-0:42.7.0', K.L2Export],
  ['1-0:62.7.0', K.L3Export],
  ['1-0:32.7.0', K.VoltageL1],
  ['1-0:52.7.0', K.VoltageL2],
  ['1-0:72.7.0', K.VoltageL3],
  ['1-0:31.7.0', K.CurrentL1],
  ['1-0:51.7.0', K.CurrentL2],
  ['1-0:71.7.0', K.CurrentL3],
  ['1-0:1.4.0', K.AvgDemand],
  ['1-0:1.6.0', K.MonthPeak],
  ['0-0:98.1.0', K.PeakHistory],
  ['1-0:2.4.0', K.ExportAvgDemand],
  ['1-0:2.6.0', K.ExportMonthPeak],
  ['1-0:1.8.0', K.ImportTotal],
  ['1-0:2.8.0', K.ExportTotal],
  ['0-0:96.7.21', K.PowerFailures],
  ['0-0:96.7.9', K.LongPowerFailures],
  ['1-0:99.97.0', K.PowerFailureLog],
  ['1-0:32.32.0', K.SagL1],
  ['1-0:52.32.0', K.SagL2],
  ['1-0:72.32.0', K.SagL3],
  ['1-0:32.36.0', K.SwellL1],
  ['1-0:52.36.0', K.SwellL2],
  ['1-0:72.36.0', K.SwellL3],
  ['0-0:96.13.0', K.TextMessage],
  ['0-0:96.3.10', K.Breaker],
  ['0-0:17.0.0', K.Limiter],
  ['1-0:31.4.0', K.Fuse],
];

/**
 * OBIS codes `A-B:C.D.E` as numbers, so a line's code is looked up without slicing it:
 * ((A·8 + B)·128 + C)·128 + D, then ·256 + E (below 2^30: a small integer for the Map).
 */
function obisKey(a: number, b: number, c: number, d: number, e: number): number {
  return ((((a * 8 + b) * 128 + c) * 128 + d) * 256 + e) | 0;
}

const OBIS = new Map<number, K>();
for (const [code, key] of OBIS_CODES) {
  const m = /^(\d+)-(\d+):(\d+)\.(\d+)\.(\d+)$/.exec(code);
  if (!m) throw new Error(`bad OBIS code ${code}`);
  OBIS.set(obisKey(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])), key);
}

// M-Bus registers on channel n ≥ 1 (0-n:C.D.E), keyed by C.D.E.
enum M {
  DeviceType = 1,
  Id,
  Reading1,
  Reading3,
  Legacy,
  Valve,
}
const MBUS = new Map<number, M>([
  [obisKey(0, 0, 24, 1, 0), M.DeviceType],
  [obisKey(0, 0, 96, 1, 0), M.Id],
  [obisKey(0, 0, 96, 1, 1), M.Id],
  [obisKey(0, 0, 24, 2, 1), M.Reading1],
  [obisKey(0, 0, 24, 2, 3), M.Reading3],
  [obisKey(0, 0, 24, 3, 0), M.Legacy],
  [obisKey(0, 0, 24, 4, 0), M.Valve],
]);

// Result registers of readObis.
let obisA = 0;
let obisB = 0;
let obisCde = 0;

/**
 * Reads `A-B:C.D.E` at a (an optional `*255`-style suffix is skipped) and returns the index of the
 * `(` that follows, or -1. Sets obisA, obisB and obisCde (the key with A = B = 0).
 */
function readObis(s: string, a: number, end: number): number {
  let f0 = 0;
  let f1 = 0;
  let f2 = 0;
  let f3 = 0;
  let v = 0;
  let field = 0;
  let digits = 0;
  let i = a;
  for (; i < end; i++) {
    const c = u[i] as number;
    if (c >= 0x30 && c <= 0x39) {
      v = v * 10 + (c - 0x30);
      if (++digits > 3) return -1;
      continue;
    }
    if (digits === 0) return -1;
    const want = field === 0 ? 0x2d : field === 1 ? 0x3a : field < 4 ? 0x2e : -1;
    if (c === want) {
      if (field === 0) f0 = v;
      else if (field === 1) f1 = v;
      else if (field === 2) f2 = v;
      else f3 = v;
      field++;
      digits = 0;
      v = 0;
      continue;
    }
    if (field !== 4) return -1;
    if (c === 0x2a) {
      const p = s.indexOf('(', i);
      i = p < 0 || p >= end ? -1 : p;
    }
    break;
  }
  if (i < 0 || i >= end || (u[i] as number) !== 0x28 || field !== 4 || digits === 0) return -1;
  if (f0 > 7 || f1 > 255 || f2 > 127 || f3 > 127 || v > 255) return -1;
  obisA = f0;
  obisB = f1;
  obisCde = obisKey(0, 0, f2, f3, v);
  return i;
}

const EMPTY = Buffer.alloc(0);

const P10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18];

// Result registers of readNumber (module-level to avoid allocating per value).
let mant = 0;
let decs = 0;
/** Start of the unit (after `*`), or the group end when there is none. */
let unitAt = 0;

/**
 * Reads `[-]digits[.digits][*unit]` in chars [a, b). Returns false when it is not a number.
 * On success `mant` / `decs` hold the value as an integer and its number of decimals.
 */
function readNumber(s: string, a: number, b: number): boolean {
  let i = a;
  let neg = false;
  if (i < b && (u[i] as number) === 0x2d) {
    neg = true;
    i++;
  }
  let m = 0;
  let d = -1;
  let digits = 0;
  for (; i < b; i++) {
    const c = u[i] as number;
    if (c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      digits++;
      if (d >= 0) d++;
    } else if (c === 0x2e && d < 0) {
      d = 0;
    } else break;
  }
  if (digits === 0) return false;
  if (i < b && (u[i] as number) !== 0x2a) return false;
  unitAt = i < b ? i + 1 : b;
  decs = Math.max(d, 0);
  if (digits > 15) {
    // Beyond exact integers: let the engine round the decimal once.
    const v = Number(s.slice(neg ? a + 1 : a, i));
    m = v * (P10[decs] ?? 10 ** decs);
  }
  mant = neg ? -m : m;
  return true;
}

/** mant × 10^e, exact when the result is an integer, correctly rounded otherwise. */
function scaled(e: number): number {
  if (e >= 0) return mant * (P10[e] ?? 10 ** e);
  return mant / (P10[-e] ?? 10 ** -e);
}

function unitIs(s: string, b: number, unit: string): boolean {
  return b - unitAt === unit.length && s.startsWith(unit, unitAt);
}

/** Energy in kWh from kWh, Wh or MWh (no unit: kWh). */
function energyKwh(s: string, a: number, b: number): number | null {
  if (!readNumber(s, a, b)) return null;
  if (unitAt === b || unitIs(s, b, 'kWh')) return scaled(-decs);
  if (unitIs(s, b, 'Wh')) return scaled(-decs - 3);
  if (unitIs(s, b, 'MWh')) return scaled(3 - decs);
  return null;
}

/** Power in W from kW, W or MW (no unit: kW, as DSMR sends it). */
function powerW(s: string, a: number, b: number): number | null {
  if (!readNumber(s, a, b)) return null;
  if (unitAt === b || unitIs(s, b, 'kW')) return scaled(3 - decs);
  if (unitIs(s, b, 'W')) return scaled(-decs);
  if (unitIs(s, b, 'MW')) return scaled(6 - decs);
  return null;
}

/** A value in a fixed unit (V, A, s, or none); another unit gives null. */
function plain(s: string, a: number, b: number, unit: string): number | null {
  if (!readNumber(s, a, b)) return null;
  if (unitAt === b || unitIs(s, b, unit)) return scaled(-decs);
  return null;
}

function integer(s: string, a: number, b: number): number | null {
  if (!readNumber(s, a, b) || unitAt !== b || decs !== 0) return null;
  return mant;
}

function text(s: string, a: number, b: number): string | null {
  return b > a ? s.slice(a, b) : null;
}

// Value groups of the current line: [start, end) pairs of what is inside each `( )`.
const MAX_GROUPS = 128;
const groups = new Int32Array(MAX_GROUPS * 2);

/** Splits `(..)(..)…` starting at p (a `(`) up to the line end b; returns the number of groups. */
function splitGroups(s: string, p: number, b: number): number {
  let n = 0;
  while (p < b && (u[p] as number) === 0x28 && n < MAX_GROUPS) {
    let close = s.indexOf(')', p + 1);
    if (close < 0 || close > b) close = b;
    groups[2 * n] = p + 1;
    groups[2 * n + 1] = close;
    n++;
    p = close + 1;
  }
  return n;
}

function gA(i: number): number {
  return groups[2 * i] as number;
}
function gB(i: number): number {
  return groups[2 * i + 1] as number;
}

function isObisRef(s: string, i: number): boolean {
  const a = gA(i);
  const c = s.indexOf(':', a);
  return c >= 0 && c < gB(i);
}

interface Reading {
  value: number | null;
  unit: string | null;
  ts: string | null;
}

interface MbusAcc {
  channel: number;
  type: number | null;
  id: string | null;
  r1: Reading | null;
  r3: Reading | null;
  legacy: Reading | null;
  valve: number | null;
}

/** Reading groups `(ts)(value*unit)`; the order of the two may be swapped and S/W may be missing. */
function readingFromGroups(s: string, first: number, n: number): Reading {
  let ts: string | null = null;
  let value: number | null = null;
  let unit: string | null = null;
  for (let i = first; i < n; i++) {
    const a = gA(i);
    const b = gB(i);
    const key = timestampKey(u, a, b);
    if (key >= 0) {
      if (ts === null) ts = timestampIso(key, s, a, b);
    } else if (value === null && readNumber(s, a, b)) {
      value = scaled(-decs);
      unit = unitAt < b ? s.slice(unitAt, b) : null;
    }
  }
  return { value, unit, ts };
}

/** Peak `(ts)(kW)` or `(kW)(ts)` (as some Iskra IE meters send it). */
function peakFromGroups(s: string, first: number, n: number): { w: number | null; ts: string | null } {
  let ts: string | null = null;
  let w: number | null = null;
  for (let i = first; i < n; i++) {
    const a = gA(i);
    const b = gB(i);
    const key = timestampKey(u, a, b);
    if (key >= 0) ts = timestampIso(key, s, a, b);
    else w = powerW(s, a, b);
  }
  return { w, ts };
}

/**
 * A line the parser does not map, kept as sent: the OBIS code from `a` to its `(` at `p` (without
 * a `*255` suffix), the groups up to `b` (see OtherValue for what becomes a number).
 */
function otherValue(s: string, a: number, p: number, b: number): OtherValue {
  const star = s.indexOf('*', a);
  const obis = s.slice(a, star >= 0 && star < p ? star : p);
  let close = s.indexOf(')', p + 1);
  if (close < 0 || close > b) close = b;
  if (close + 1 < b && (u[close + 1] as number) === 0x28) {
    let end = b;
    while (end > p && (u[end - 1] as number) !== 0x29) end--;
    return { obis, value: s.slice(p, end), unit: null };
  }
  const va = p + 1;
  if (close === va) return { obis, value: null, unit: null };
  if (readNumber(s, va, close) && (unitAt < close || decs > 0)) {
    return { obis, value: scaled(-decs), unit: unitAt < close ? s.slice(unitAt, close) : null };
  }
  return { obis, value: s.slice(va, close), unit: null };
}

function mbusAt(list: MbusAcc[], channel: number): MbusAcc {
  for (const d of list) if (d.channel === channel) return d;
  const d: MbusAcc = { channel, type: null, id: null, r1: null, r3: null, legacy: null, valve: null };
  list.push(d);
  return d;
}

/**
 * Parses one telegram (`/` … `!`; anything after the `!` is ignored), given as latin1 text or as the
 * received bytes. Never throws. It does not check the CRC: use TelegramFramer or parseTelegramBytes.
 */
export function parseTelegram(input: string | Uint8Array, opts: ParseOptions = {}): P1Telegram {
  if (typeof input === 'string') return parseBoth(input, Buffer.from(input, 'latin1'), opts);
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return parseBoth(bytes.toString('latin1'), bytes, opts);
}

/** Parses a telegram the framer emitted (its text and bytes are already at hand). */
export function parseFramed(telegram: FramedTelegram, opts: ParseOptions = {}): P1Telegram {
  return parseBoth(telegram.telegram, telegram.bytes, opts);
}

/** The bytes of the telegram being parsed: per-char work reads them (faster than charCodeAt). */
let u: Buffer = EMPTY;

function tsAt(s: string, a: number, b: number): string | null {
  return timestampIso(timestampKey(u, a, b), s, a, b);
}

/** `s` and `bytes` are the same telegram (latin1: one char per byte, same indexes). */
function parseBoth(s: string, bytes: Buffer, opts: ParseOptions): P1Telegram {
  u = bytes;
  try {
    return parseText(s, opts);
  } finally {
    u = EMPTY;
  }
}

function parseText(s: string, opts: ParseOptions): P1Telegram {
  let version: string | null = null;
  let beVersion: string | null = null;
  let meterTs: string | null = null;
  let equipmentId: string | null = null;
  let serialAlt: string | null = null;
  let tariff: 1 | 2 | null = null;
  let impT1: number | null = null;
  let impT2: number | null = null;
  let expT1: number | null = null;
  let expT2: number | null = null;
  let pImp: number | null = null;
  let pExp: number | null = null;
  let l1i: number | null = null;
  let l2i: number | null = null;
  let l3i: number | null = null;
  let l1e: number | null = null;
  let l2e: number | null = null;
  let l3e: number | null = null;
  let v1: number | null = null;
  let v2: number | null = null;
  let v3: number | null = null;
  let c1: number | null = null;
  let c2: number | null = null;
  let c3: number | null = null;
  let avg: number | null = null;
  let peakW: number | null = null;
  let peakTs: string | null = null;
  let history: PeakHistoryEntry[] | null = null;
  let expAvg: number | null = null;
  let expPeakW: number | null = null;
  let expPeakTs: string | null = null;
  let impTotal: number | null = null;
  let expTotal: number | null = null;
  let failures: number | null = null;
  let longFailures: number | null = null;
  let failureLog: PowerFailure[] | null = null;
  let sag1: number | null = null;
  let sag2: number | null = null;
  let sag3: number | null = null;
  let swell1: number | null = null;
  let swell2: number | null = null;
  let swell3: number | null = null;
  let message: string | null = null;
  let breaker: number | null = null;
  let limiter: number | null = null;
  let fuse: number | null = null;
  const mbus: MbusAcc[] = [];
  const other: OtherValue[] = [];
  /** A DSMR 2.2/3 24.3.0 line whose value follows on the next line. */
  let pendingLegacy: { dev: MbusAcc; unit: string | null; ts: string | null } | null = null;

  const start = s.indexOf('/');
  let stop = s.indexOf('!', start + 1);
  if (stop < 0) stop = s.length;
  let i = s.indexOf('\n', start + 1);
  let headerEnd = i < 0 || i > stop ? stop : i;
  if (headerEnd > start + 1 && (u[headerEnd - 1] as number) === 0x0d) headerEnd--;
  const header = start < 0 ? '' : s.slice(start + 1, headerEnd);
  if (start < 0 || i < 0) i = stop;
  else i++;

  while (i < stop) {
    let j = s.indexOf('\n', i);
    if (j < 0 || j > stop) j = stop;
    let b = j;
    if (b > i && (u[b - 1] as number) === 0x0d) b--;
    const a = i;
    i = j + 1;
    if (b <= a) continue;
    const first = u[a] as number;
    if (first === 0x28) {
      // Continuation line: the value of a DSMR 2.2/3 gas reading (0-n:24.3.0).
      if (pendingLegacy !== null && splitGroups(s, a, b) > 0 && readNumber(s, gA(0), gB(0))) {
        pendingLegacy.dev.legacy = { value: scaled(-decs), unit: pendingLegacy.unit, ts: pendingLegacy.ts };
      }
      pendingLegacy = null;
      continue;
    }
    pendingLegacy = null;
    const p = readObis(s, a, b);
    if (p < 0) continue;
    const va = p + 1;
    let vb = s.indexOf(')', va);
    if (vb < 0 || vb > b) vb = b;
    if (obisA === 0 && obisB > 0) {
      // M-Bus channel n = B ≥ 1: gas, water, heat meters.
      const channel = obisB;
      switch (MBUS.get(obisCde)) {
        case M.DeviceType:
          mbusAt(mbus, channel).type = integer(s, va, vb);
          break;
        case M.Id:
          mbusAt(mbus, channel).id = text(s, va, vb);
          break;
        case M.Reading1:
          mbusAt(mbus, channel).r1 = readingFromGroups(s, 0, splitGroups(s, p, b));
          break;
        case M.Reading3:
          mbusAt(mbus, channel).r3 = readingFromGroups(s, 0, splitGroups(s, p, b));
          break;
        case M.Legacy: {
          // (ts)(period)(?)(?)(0-n:24.2.1)(unit), value on the next line.
          const n = splitGroups(s, p, b);
          const ts = n > 0 ? tsAt(s, gA(0), gB(0)) : null;
          const unit = n >= 6 ? text(s, gA(5), gB(5)) : null;
          pendingLegacy = { dev: mbusAt(mbus, channel), unit, ts };
          break;
        }
        case M.Valve:
          mbusAt(mbus, channel).valve = integer(s, va, vb);
          break;
        default:
          other.push(otherValue(s, a, p, b));
      }
      continue;
    }
    const key = OBIS.get(obisCde + obisKey(obisA, obisB, 0, 0, 0));
    switch (key) {
      case K.Version:
        version = text(s, va, vb);
        break;
      case K.BeVersion:
        beVersion = text(s, va, vb) ?? '';
        break;
      case K.Timestamp:
        meterTs = tsAt(s, va, vb);
        break;
      case K.EquipmentId:
        equipmentId = text(s, va, vb);
        break;
      case K.SerialAlt:
        serialAlt = text(s, va, vb);
        break;
      case K.ImportT1:
        impT1 = energyKwh(s, va, vb);
        break;
      case K.ImportT2:
        impT2 = energyKwh(s, va, vb);
        break;
      case K.ExportT1:
        expT1 = energyKwh(s, va, vb);
        break;
      case K.ExportT2:
        expT2 = energyKwh(s, va, vb);
        break;
      case K.ImportTotal:
        impTotal = energyKwh(s, va, vb);
        break;
      case K.ExportTotal:
        expTotal = energyKwh(s, va, vb);
        break;
      case K.Tariff: {
        const t = integer(s, va, vb);
        tariff = t === 1 || t === 2 ? t : null;
        break;
      }
      case K.PowerImport:
        pImp = powerW(s, va, vb);
        break;
      case K.PowerExport:
        pExp = powerW(s, va, vb);
        break;
      case K.L1Import:
        l1i = powerW(s, va, vb);
        break;
      case K.L2Import:
        l2i = powerW(s, va, vb);
        break;
      case K.L3Import:
        l3i = powerW(s, va, vb);
        break;
      case K.L1Export:
        l1e = powerW(s, va, vb);
        break;
      case K.L2Export:
        l2e = powerW(s, va, vb);
        break;
      case K.L3Export:
        l3e = powerW(s, va, vb);
        break;
      case K.VoltageL1:
        v1 = plain(s, va, vb, 'V');
        break;
      case K.VoltageL2:
        v2 = plain(s, va, vb, 'V');
        break;
      case K.VoltageL3:
        v3 = plain(s, va, vb, 'V');
        break;
      case K.CurrentL1:
        c1 = plain(s, va, vb, 'A');
        break;
      case K.CurrentL2:
        c2 = plain(s, va, vb, 'A');
        break;
      case K.CurrentL3:
        c3 = plain(s, va, vb, 'A');
        break;
      case K.AvgDemand:
        avg = powerW(s, va, vb);
        break;
      case K.ExportAvgDemand:
        expAvg = powerW(s, va, vb);
        break;
      case K.MonthPeak: {
        const pk = peakFromGroups(s, 0, splitGroups(s, p, b));
        peakW = pk.w;
        peakTs = pk.ts;
        break;
      }
      case K.ExportMonthPeak: {
        const pk = peakFromGroups(s, 0, splitGroups(s, p, b));
        expPeakW = pk.w;
        expPeakTs = pk.ts;
        break;
      }
      case K.PeakHistory:
        history = peakHistory(s, splitGroups(s, p, b));
        break;
      case K.PowerFailures:
        failures = integer(s, va, vb);
        break;
      case K.LongPowerFailures:
        longFailures = integer(s, va, vb);
        break;
      case K.PowerFailureLog:
        failureLog = powerFailureLog(s, splitGroups(s, p, b));
        break;
      case K.SagL1:
        sag1 = integer(s, va, vb);
        break;
      case K.SagL2:
        sag2 = integer(s, va, vb);
        break;
      case K.SagL3:
        sag3 = integer(s, va, vb);
        break;
      case K.SwellL1:
        swell1 = integer(s, va, vb);
        break;
      case K.SwellL2:
        swell2 = integer(s, va, vb);
        break;
      case K.SwellL3:
        swell3 = integer(s, va, vb);
        break;
      case K.TextMessage:
        message = text(s, va, vb);
        break;
      case K.Breaker:
        breaker = integer(s, va, vb);
        break;
      case K.Limiter:
        limiter = powerW(s, va, vb);
        break;
      case K.Fuse:
        fuse = plain(s, va, vb, 'A');
        break;
      default:
        other.push(otherValue(s, a, p, b));
    }
  }

  const country: Country = opts.country ?? (beVersion !== null ? 'be' : 'nl');
  const devices = resolveMbus(mbus, country);
  const gas = pick(devices, 3, 'm3');
  const water = pick(devices, 7, 'm3');
  const heat = pickHeat(devices);

  return {
    meter_timestamp: meterTs,
    equipment_id: equipmentId ?? serialAlt,
    country,
    tariff_indicator: tariff,
    energy_import_t1_kwh: impT1,
    energy_import_t2_kwh: impT2,
    energy_export_t1_kwh: expT1,
    energy_export_t2_kwh: expT2,
    power_import_w: pImp,
    power_export_w: pExp,
    power_l1_import_w: l1i,
    power_l2_import_w: l2i,
    power_l3_import_w: l3i,
    power_l1_export_w: l1e,
    power_l2_export_w: l2e,
    power_l3_export_w: l3e,
    voltage_l1_v: v1,
    voltage_l2_v: v2,
    voltage_l3_v: v3,
    current_l1_a: c1,
    current_l2_a: c2,
    current_l3_a: c3,
    avg_demand_15m_w: avg,
    month_peak_w: peakW,
    month_peak_timestamp: peakTs,
    peak_history: history,
    gas_m3: gas?.value ?? null,
    gas_timestamp: gas?.timestamp ?? null,
    water_m3: water?.value ?? null,
    water_timestamp: water?.timestamp ?? null,
    header,
    p1_version: version ?? beVersion,
    energy_import_total_kwh: impTotal,
    energy_export_total_kwh: expTotal,
    export_avg_demand_15m_w: expAvg,
    export_month_peak_w: expPeakW,
    export_month_peak_timestamp: expPeakTs,
    power_failures: failures,
    long_power_failures: longFailures,
    power_failure_log: failureLog,
    voltage_sags_l1: sag1,
    voltage_sags_l2: sag2,
    voltage_sags_l3: sag3,
    voltage_swells_l1: swell1,
    voltage_swells_l2: swell2,
    voltage_swells_l3: swell3,
    text_message: message,
    breaker_state: breaker,
    limiter_threshold_w: limiter,
    fuse_threshold_a: fuse,
    heat_gj: heat?.gj ?? null,
    heat_timestamp: heat?.timestamp ?? null,
    mbus: devices,
    other,
  };
}

/** `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(month start)(occurred)(kW)`. */
function peakHistory(s: string, n: number): PeakHistoryEntry[] | null {
  if (n === 0) return null;
  const count = integer(s, gA(0), gB(0));
  if (count === null) return null;
  let g = 1;
  while (g < n && isObisRef(s, g)) g++;
  const out: PeakHistoryEntry[] = [];
  for (; g + 3 <= n; g += 3) {
    if (out.length >= count) break;
    let monthStart: string | null = null;
    let occurred: string | null = null;
    let seenTs = 0;
    let w: number | null = null;
    for (let k = g; k < g + 3; k++) {
      const a = gA(k);
      const b = gB(k);
      const key = timestampKey(u, a, b);
      if (key >= 0) {
        const iso = timestampIso(key, s, a, b);
        if (seenTs++ === 0) monthStart = iso;
        else occurred = iso;
      } else w = powerW(s, a, b);
    }
    out.push({ month_start: monthStart, timestamp: occurred, peak_w: w });
  }
  return out;
}

/** `(n)(0-0:96.7.19)` then n × `(end ts)(duration*s)`. */
function powerFailureLog(s: string, n: number): PowerFailure[] | null {
  if (n === 0) return null;
  const count = integer(s, gA(0), gB(0));
  if (count === null) return null;
  let g = 1;
  while (g < n && isObisRef(s, g)) g++;
  const out: PowerFailure[] = [];
  for (; g + 2 <= n && out.length < count; g += 2) {
    const end = tsAt(s, gA(g), gB(g));
    out.push({ end, duration_s: plain(s, gA(g + 1), gB(g + 1), 's') });
  }
  return out;
}

function resolveMbus(list: MbusAcc[], country: Country): MbusDevice[] {
  const out: MbusDevice[] = [];
  for (let i = 1; i < list.length; i++) {
    if ((list[i - 1] as MbusAcc).channel > (list[i] as MbusAcc).channel) {
      list.sort((x, y) => x.channel - y.channel);
      break;
    }
  }
  for (const d of list) {
    const r = country === 'be' ? (d.r3 ?? d.r1 ?? d.legacy) : (d.r1 ?? d.r3 ?? d.legacy);
    const obis = r === null ? null : r === d.r3 ? '24.2.3' : r === d.r1 ? '24.2.1' : '24.3.0';
    let type = d.type;
    if (type === null && r !== null) {
      // No 24.1.0: infer from the unit and the register (BE: water on 24.2.1, gas on 24.2.3).
      if (r.unit === 'GJ' || r.unit === 'MJ' || r.unit === 'kWh' || r.unit === 'MWh') type = 4;
      else if (country === 'be' && obis === '24.2.1') type = 7;
      else type = 3;
    }
    out.push({
      channel: d.channel,
      device_type: type,
      equipment_id: d.id,
      value: r?.value ?? null,
      unit: r?.unit ?? null,
      timestamp: r?.ts ?? null,
      obis,
      valve_position: d.valve,
    });
  }
  return out;
}

/** The first device of a type with a stamped reading (an empty channel has a placeholder time), else with a value. */
function pick(devices: MbusDevice[], type: number, unit: string): MbusDevice | null {
  let fallback: MbusDevice | null = null;
  for (const d of devices) {
    if (d.device_type !== type || d.value === null || (d.unit !== null && d.unit !== unit)) continue;
    if (d.timestamp !== null) return d;
    fallback ??= d;
  }
  return fallback;
}

const TO_GJ: Record<string, number> = { GJ: 1, MJ: 0.001, kWh: 0.0036, MWh: 3.6 };

function pickHeat(devices: MbusDevice[]): { gj: number; timestamp: string | null } | null {
  for (const d of devices) {
    if (d.device_type !== 4 && d.device_type !== 12) continue;
    const f = d.unit === null ? undefined : TO_GJ[d.unit];
    if (d.value === null || f === undefined) continue;
    return { gj: f === 1 ? d.value : d.value * f, timestamp: d.timestamp };
  }
  return null;
}

/**
 * Frames, CRC-checks and parses exactly one telegram (bytes or a latin1 string). Throws the
 * DsmrFrameError when the CRC or framing is wrong, or when there is no telegram in the input.
 */
export function parseTelegramBytes(input: Uint8Array | string, opts: ParseOptions = {}): P1Telegram {
  const framer = new TelegramFramer();
  const events = framer.push(input);
  for (const ev of framer.end()) events.push(ev);
  for (const ev of events) {
    if (ev.type === 'error') throw ev.error;
    return parseFramed(ev, opts);
  }
  throw new DsmrFrameError('dsmr_incomplete', 'no telegram in input (expected "/" … "!CRC")');
}
