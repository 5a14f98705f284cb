/**
 * The house rules of docs/architecture.md that a linter does not check: no file in src/ above 400
 * lines unless its header says why ("Above 400 lines on purpose: …"). Functions above 80 lines are
 * refused by the linter (biome.json, noExcessiveLinesPerFunction for src/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAX_LINES = 400;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|tsx)$/.test(e.name) ? [p] : [];
  });
}

describe('house rules', () => {
  it('no file in src/ above 400 lines without the reason in its header', () => {
    const files = sources(join(ROOT, 'src'));
    expect(files.length).toBeGreaterThan(200);
    const long = files
      .map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, 'utf8') }))
      .filter(({ text }) => text.split('\n').length - 1 > MAX_LINES);
    const unexplained = long
      .filter(({ text }) => !/Above 400 lines on purpose: \S/.test(/^\/\*\*[\s\S]*?\*\//.exec(text)?.[0] ?? ''))
      .map(({ file, text }) => `${file}: ${text.split('\n').length - 1} lines`);
    expect(unexplained).toEqual([]);
  });
});
