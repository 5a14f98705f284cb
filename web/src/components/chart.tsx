/**
 * A uPlot chart with its text alternative: the canvas carries role="img" and a label describing it,
 * and the same data can be opened as a table (keyboard and screen-reader friendly).
 */
import type { ComponentChildren } from 'preact';
import { useContext, useEffect, useId, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { type I18n, useI18n } from '../i18n/index.js';
import { type Palette, palette, ThemeContext } from '../theme.js';

export interface TableData {
  head: string[];
  rows: string[][];
}

interface Props {
  title: string;
  desc: string;
  /** Builds the options for a width; called again when `rebuild`, the theme or the language changes. */
  options: (width: number, colors: Palette) => uPlot.Options;
  data: uPlot.AlignedData;
  rebuild: string;
  table?: TableData;
  height?: number;
  children?: ComponentChildren;
  testId?: string;
}

export function Chart({ title, desc, options, data, rebuild, table, children, testId }: Props) {
  const { t, lang } = useI18n();
  const theme = useContext(ThemeContext);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const id = useId();
  const optionsRef = useRef(options);
  optionsRef.current = options;
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(200, el.clientWidth);
    const u = new uPlot(withTickRecord(optionsRef.current(width, palette()), el), dataRef.current, el);
    plot.current = u;
    let last = width;
    const ro = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (Math.abs(w - last) < 2) return;
      last = w;
      u.setSize({ width: w, height: u.height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [rebuild, theme, lang]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure class="chart" aria-labelledby={`${id}-t`} data-testid={testId}>
      <figcaption id={`${id}-t`}>{title}</figcaption>
      <p id={`${id}-d`} class="chart-desc">
        {desc}
      </p>
      <div ref={box} class="chart-canvas" role="img" aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`} />
      {children}
      {table && table.rows.length > 0 && (
        <details class="chart-table">
          <summary>{t('common.showTable')}</summary>
          <div class="table-scroll">
            <table>
              <caption class="sr-only">{title}</caption>
              <thead>
                <tr>
                  {table.head.map((h) => (
                    <th key={h} scope="col">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {table.rows.map((r) => (
                  <tr key={r[0]}>
                    {r.map((c, i) =>
                      i === 0 ? (
                        <th key={`h${c}`} scope="row">
                          {c}
                        </th>
                      ) : (
                        <td key={i}>{c}</td>
                      ),
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </figure>
  );
}

/**
 * The x axis's labels as last drawn, kept on the canvas box as `data-x-ticks` (joined by `|`): a
 * canvas has no text a test (or a curious user's inspector) could read. Only for an axis whose labels
 * are written by a `values` function.
 */
function withTickRecord(o: uPlot.Options, el: HTMLElement): uPlot.Options {
  const x = o.axes?.[0];
  const values = x?.values;
  if (!x || typeof values !== 'function') return o;
  x.values = (u, splits, axisIdx, space, incr) => {
    const out = values(u, splits, axisIdx, space, incr);
    el.dataset.xTicks = out.map((v) => String(v ?? '')).join('|');
    return out;
  };
  return o;
}

/** Decimals needed to write multiples of `step` exactly (2.5 → 1, 0.25 → 2, 500 → 0). */
function decimalsOf(step: number): number {
  for (let d = 0; d < 4; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6) return d;
  }
  return 4;
}

function stepOf(splits: number[]): number {
  return splits.length > 1 ? Math.abs((splits[1] ?? 0) - (splits[0] ?? 0)) : 1;
}

/** Tick labels of a power axis: "200 W" below 1 kW, else kW with as many decimals as the step needs. */
export function powerTicks(i: I18n, splits: number[]): string[] {
  const max = Math.max(...splits.map(Math.abs));
  if (max < 1000) return splits.map((v) => `${i.num(v, 0)} W`);
  const digits = decimalsOf(stepOf(splits) / 1000);
  return splits.map((v) => `${i.num(v / 1000, digits)} kW`);
}

/** Tick labels of an energy or money axis with as many decimals as the step needs. */
export function numberTicks(i: I18n, splits: number[]): string[] {
  const digits = decimalsOf(stepOf(splits));
  return splits.map((v) => i.num(v, digits));
}

/** Every how many categories to label so labels of about `chars` characters do not overlap. */
export function labelEvery(width: number, n: number, chars: number): number {
  const fit = Math.max(1, Math.floor((width - 70) / (chars * 7.5 + 10)));
  return Math.max(1, Math.ceil(n / fit));
}

/** Axis styling shared by every chart. */
export function axis(colors: Palette, extra: Partial<uPlot.Axis> = {}): uPlot.Axis {
  return {
    stroke: colors.text,
    grid: { stroke: colors.grid, width: 1 },
    ticks: { stroke: colors.grid, width: 1 },
    font: '12px system-ui, sans-serif',
    ...extra,
  };
}
