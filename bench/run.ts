/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) and prints
 * each figure with its unit and target. Benchmarks measure; tests never time anything.
 *   npm run bench                 # all
 *   npm run bench -- dsmr sungrow # only bench/dsmr.bench.ts and bench/sungrow.bench.ts
 *   npm run bench -- soak         # the 13-minute soak (bench/soak.bench.ts): only when named
 *   npm run bench -- control      # a simulated month through three control strategies (bench/control.bench.ts)
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** e.g. '>= 100000' or '<= 60' (same unit). */
  target?: string;
}

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
/** Benchmarks too long for `npm run bench` without names: they run only when named. */
const ON_REQUEST = new Set(['soak']);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => {
    const name = f.replace(/\.bench\.ts$/, '');
    return only.length === 0 ? !ON_REQUEST.has(name) : only.includes(name);
  })
  .sort();

function meets(r: BenchResult): string {
  if (!r.target) return '';
  const m = /^(>=|<=)\s*([\d.]+)/.exec(r.target);
  if (!m) return `  (target ${r.target})`;
  const ok = m[1] === '>=' ? r.value >= Number(m[2]) : r.value <= Number(m[2]);
  return `  (target ${r.target} ${r.unit}: ${ok ? 'met' : 'NOT met'})`;
}

let failed = false;
for (const f of files) {
  const mod = (await import(new URL(f, import.meta.url).href)) as { bench: () => Promise<BenchResult[]> };
  process.stdout.write(`# ${f}\n`);
  try {
    for (const r of await mod.bench()) {
      const v = Number.isInteger(r.value)
        ? r.value.toLocaleString('en-US')
        : r.value.toLocaleString('en-US', { maximumFractionDigits: 3 });
      process.stdout.write(`${r.name}: ${v} ${r.unit}${meets(r)}\n`);
    }
  } catch (err) {
    failed = true;
    process.stdout.write(`  failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
