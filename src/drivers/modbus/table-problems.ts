/**
 * A register table's soundness, checked by each vendor table's tests: addressing, word orders,
 * overlaps, writable rows, scale-factor rows, duplicate fields.
 */
import { type RegisterRow, rowEnd } from './register-table.js';

/**
 * Problems with a table, one line each (empty: the table is sound): wire ≠ doc − docOffset,
 * overlapping rows, 32-bit rows without a word order, strings without a count, duplicate fields.
 */
export function tableProblems(rows: readonly RegisterRow[], docOffset: number): string[] {
  const out: string[] = [];
  const fields = new Set<string>();
  for (const r of rows) {
    if (r.wire !== r.doc - docOffset) out.push(`${r.field}: wire ${r.wire} is not doc ${r.doc} − ${docOffset}`);
    if ((r.type === 'u32' || r.type === 's32') && r.words === undefined)
      out.push(`${r.field}: 32-bit row without words`);
    if ((r.type === 'u64' || r.type === 's64') && r.words === undefined)
      out.push(`${r.field}: 64-bit row without words`);
    if (r.access === 'rw' && r.fn !== 'holding') out.push(`${r.field}: only holding registers can be written`);
    if (r.scaleFrom !== undefined) {
      const sfRow = rows.find((x) => x.field === r.scaleFrom);
      if (!sfRow) out.push(`${r.field}: scaleFrom ${r.scaleFrom} is not a row of the table`);
      else if (sfRow.type !== 's16') out.push(`${r.field}: scaleFrom ${r.scaleFrom} must be an s16 row`);
    }
    if (r.type === 'utf8' && (r.count === undefined || r.count < 1)) out.push(`${r.field}: utf8 row without count`);
    if (!Number.isFinite(r.scale) || r.scale === 0) out.push(`${r.field}: scale must be a non-zero number`);
    if (fields.has(r.field)) out.push(`${r.field}: field appears twice`);
    fields.add(r.field);
  }
  for (const fn of ['input', 'holding'] as const) {
    const sorted = rows.filter((r) => r.fn === fn).sort((a, b) => a.wire - b.wire);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      const cur = sorted[i];
      if (prev && cur && cur.wire < rowEnd(prev)) {
        out.push(`${cur.field} (${fn} ${cur.wire}) overlaps ${prev.field} (${fn} ${prev.wire}..${rowEnd(prev) - 1})`);
      }
    }
  }
  return out;
}
