/**
 * P1 telegram parsing throughput on one core: framing + CRC-16 + parse, from the received bytes.
 *   npm run bench -- dsmr
 * Fixtures: a DSMR 5 telegram (890 bytes, 2 M-Bus channels), an e-MUCS telegram (1100 bytes,
 * 4-month peak history, gas and water), and a Sagemcom telegram (481 bytes) whose 8 reactive-energy
 * lines the parser does not map (the cost of keeping them under `other`). Each figure is the median of 7 rounds of ~0.5 s after warm-up,
 * timed in CPU time of this process (user + system), so other work on the machine does not lower it;
 * GC threads count too, which makes the figure conservative.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TelegramFramer } from '../src/drivers/dsmr/framer.js';
import { parseFramed, parseTelegramBytes } from '../src/drivers/dsmr/parser.js';
import type { BenchResult } from './run.js';

function fixture(name: string): Buffer {
  return readFileSync(fileURLToPath(new URL(`../test/fixtures/p1/${name}`, import.meta.url)));
}

/** Runs `fn` (which handles `perCall` telegrams) in rounds; returns the median telegrams/s. */
function measure(fn: () => number, perCall: number): number {
  let sink = 0;
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) sink += fn();
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const rates: number[] = [];
  for (let round = 0; round < 7; round++) {
    let calls = 0;
    const t0 = cpuMs();
    let t1 = t0;
    while (t1 - t0 < 500) {
      for (let i = 0; i < 100; i++) sink += fn();
      calls += 100;
      t1 = cpuMs();
    }
    rates.push((calls * perCall * 1000) / (t1 - t0));
  }
  if (sink === -1) process.stdout.write(''); // keep the results alive
  rates.sort((a, b) => a - b);
  return Math.round(rates[3] as number);
}

export async function bench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const [label, file] of [
    ['DSMR 5 (dsmr50-iskra-mt382)', 'dsmr50-iskra-mt382.txt'],
    ['e-MUCS (fluvius-v171-3phase-alt)', 'fluvius-v171-3phase-alt.txt'],
    ['Sagemcom T210-D, 8 of 18 lines kept under other (sagemcom-t210-dr-wh-units)', 'sagemcom-t210-dr-wh-units.txt'],
  ] as const) {
    const bytes = fixture(file);
    // One telegram per call, as the edge gets them: frame + CRC + parse.
    const single = measure(() => (parseTelegramBytes(bytes).power_import_w ?? 0) & 1, 1);
    results.push({
      name: `${label}: frame + CRC + parse, one telegram per call`,
      value: single,
      unit: 'telegrams/s',
      target: '>= 100000',
    });
    // A stream (a capture file, `dsmr parse`): 200 telegrams in 4 KiB chunks through one framer.
    const stream = Buffer.concat(Array.from({ length: 200 }, () => bytes));
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 4096) chunks.push(stream.subarray(i, i + 4096));
    const framer = new TelegramFramer();
    const streamed = measure(() => {
      let n = 0;
      for (const c of chunks) {
        for (const ev of framer.push(c)) if (ev.type === 'telegram' && parseFramed(ev).power_import_w !== null) n++;
      }
      return n;
    }, 200);
    results.push({
      name: `${label}: streamed in 4 KiB chunks`,
      value: streamed,
      unit: 'telegrams/s',
      target: '>= 100000',
    });
  }
  return results;
}
