/**
 * Decoders of the multi-group lines that carry a time with each value: the month's peak
 * (1-0:1.6.0, 1-0:2.6.0), the monthly peak history (0-0:98.1.0) and the power failure log
 * (1-0:99.97.0). A group is told apart as a timestamp by its shape, not its place: meters differ
 * in the order they send them in.
 */
import { integerAt, plainAt, powerWAt } from './decoders.js';
import type { LineReader } from './line-reader.js';
import type { PeakHistoryEntry, PowerFailure } from './telegram.js';

/** A quarter-hour peak and when it occurred. */
export interface Peak {
  w: number | null;
  ts: string | null;
}

/** `(ts)(kW)`, or `(kW)(ts)` as some Iskra IE meters send it. */
export function peak(line: LineReader): Peak {
  const n = line.splitGroups(line.open);
  let ts: string | null = null;
  let w: number | null = null;
  for (let i = 0; i < n; i++) {
    const a = line.groupStart(i);
    const b = line.groupEnd(i);
    const key = line.timestampKey(a, b);
    if (key >= 0) ts = line.timestampIso(key, a, b);
    else w = powerWAt(line, a, b);
  }
  return { w, ts };
}

/** The first group after the count and the OBIS references that follow it. */
function firstEntryGroup(line: LineReader, n: number): number {
  let g = 1;
  while (g < n && line.isObisRef(g)) g++;
  return g;
}

/**
 * `(n)(1-0:1.6.0)(1-0:1.6.0)` then n × `(month start)(occurred)(kW)`. The first timestamp of an
 * entry is its month start, the second when the peak occurred.
 */
export function peakHistory(line: LineReader): PeakHistoryEntry[] | null {
  const n = line.splitGroups(line.open);
  if (n === 0) return null;
  const count = integerAt(line, line.groupStart(0), line.groupEnd(0));
  if (count === null) return null;
  const out: PeakHistoryEntry[] = [];
  for (let g = firstEntryGroup(line, n); g + 3 <= n && out.length < count; g += 3) {
    let monthStart: string | null = null;
    let occurred: string | null = null;
    let stampsSeen = 0;
    let w: number | null = null;
    for (let k = g; k < g + 3; k++) {
      const a = line.groupStart(k);
      const b = line.groupEnd(k);
      const key = line.timestampKey(a, b);
      if (key >= 0) {
        const iso = line.timestampIso(key, a, b);
        if (stampsSeen++ === 0) monthStart = iso;
        else occurred = iso;
      } else w = powerWAt(line, a, b);
    }
    out.push({ month_start: monthStart, timestamp: occurred, peak_w: w });
  }
  return out;
}

/** `(n)(0-0:96.7.19)` then n × `(end ts)(duration*s)`. */
export function powerFailureLog(line: LineReader): PowerFailure[] | null {
  const n = line.splitGroups(line.open);
  if (n === 0) return null;
  const count = integerAt(line, line.groupStart(0), line.groupEnd(0));
  if (count === null) return null;
  const out: PowerFailure[] = [];
  for (let g = firstEntryGroup(line, n); g + 2 <= n && out.length < count; g += 2) {
    const end = line.timestamp(line.groupStart(g), line.groupEnd(g));
    out.push({ end, duration_s: plainAt(line, line.groupStart(g + 1), line.groupEnd(g + 1), 's') });
  }
  return out;
}
