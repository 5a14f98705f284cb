/**
 * `kwartier top`'s screen, in Ink (React for terminals): a header with the link's state, four
 * pages (overview, today, capacity, devices) and a key line. It fits 80×24 and uses the room of a
 * larger terminal: side-by-side panels from 110 columns, longer lists with more rows, wider bars.
 * Colour only through `theme` (none with NO_COLOR), never as the only carrier of a meaning: every
 * state is also a word.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { type ReactNode, useEffect, useState } from 'react';
import { localDayStart } from '../../core/time/index.js';
import type { TopData, TopFeed } from './feed.js';
import {
  bar,
  Clock,
  DASH,
  deviceStates,
  duration,
  euro,
  flowPower,
  flows,
  kwh,
  p1AgeSeconds,
  pct,
  power,
  quarterWindow,
  snapshotAgeSeconds,
  sparkline,
  todaysQuarters,
} from './model.js';

export const PAGES = ['Overview', 'Today', 'Capacity', 'Devices'] as const;
export type Page = (typeof PAGES)[number];

/** Colours by meaning; every one undefined without colour. */
export interface Theme {
  good?: string;
  warn?: string;
  bad?: string;
  solar?: string;
  battery?: string;
  accent?: string;
}

export function makeTheme(colour: boolean): Theme {
  return colour ? { good: 'green', warn: 'yellow', bad: 'red', solar: 'yellow', battery: 'cyan', accent: 'blue' } : {};
}

/** Panels sit side by side from this width; below it they stack. */
const WIDE = 110;

function useTerminalSize(): { columns: number; rows: number } {
  const { stdout } = useStdout();
  const read = () => ({ columns: Math.max(40, stdout.columns || 80), rows: Math.max(12, stdout.rows || 24) });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  });
  return size;
}

/** A ticking clock, so ages and the header's time move between snapshots. */
function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export interface AppProps {
  feed: TopFeed;
  theme: Theme;
  initialPage?: Page;
}

export function App({ feed, theme, initialPage = 'Overview' }: AppProps): ReactNode {
  const [data, setData] = useState<TopData>(feed.current);
  const [page, setPage] = useState<Page>(initialPage);
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const now = useNow();

  useEffect(() => {
    const onChange = (d: TopData) => setData(d);
    feed.subscribe(onChange);
    return () => feed.unsubscribe(onChange);
  }, [feed]);

  useInput((input, key) => {
    const i = PAGES.indexOf(page);
    if (input === 'q' || input === 'Q' || key.escape) exit();
    else if (input >= '1' && input <= String(PAGES.length)) setPage(PAGES[Number(input) - 1] ?? page);
    else if (key.rightArrow || (key.tab && !key.shift)) setPage(PAGES[(i + 1) % PAGES.length] ?? page);
    else if (key.leftArrow || (key.tab && key.shift)) setPage(PAGES[(i + PAGES.length - 1) % PAGES.length] ?? page);
    else if (input === 'r') feed.refresh();
    else if (input === 'd') feed.nextDevice();
  });

  const clock = new Clock(data.timezone);
  const ctx: PageContext = { data, clock, theme, now, columns, rows: rows - 5 };
  return (
    <Box flexDirection="column" width={columns} height={rows - 1}>
      <Header ctx={ctx} />
      <Tabs page={page} theme={theme} />
      <Box flexDirection="column" flexGrow={1} paddingX={1} overflow="hidden">
        {page === 'Overview' && <Overview ctx={ctx} />}
        {page === 'Today' && <Today ctx={ctx} />}
        {page === 'Capacity' && <CapacityPage ctx={ctx} />}
        {page === 'Devices' && <Devices ctx={ctx} />}
      </Box>
      <Text wrap="truncate">
        {' 1-4 ←→ pages · r refresh'}
        {data.devices.length > 1 ? ' · d next home' : ''}
        {' · q quit'}
      </Text>
    </Box>
  );
}

interface PageContext {
  data: TopData;
  clock: Clock;
  theme: Theme;
  now: number;
  columns: number;
  /** Rows for the page's content. */
  rows: number;
}

function Header({ ctx }: { ctx: PageContext }): ReactNode {
  const { data, clock, theme, now } = ctx;
  const rt = data.realtime;
  const link = data.link;
  let linkText: string;
  let linkColour: string | undefined;
  if (link.state === 'live') {
    linkText = '● live';
    linkColour = theme.good;
  } else if (link.state === 'connecting') {
    linkText = '○ connecting';
    linkColour = theme.warn;
  } else {
    const inS = link.retryAt === null ? 0 : Math.max(0, Math.ceil((link.retryAt - now) / 1000));
    linkText = `○ reconnecting in ${inS} s (${link.error ?? 'closed'})`;
    linkColour = theme.bad;
  }
  const snapAge = snapshotAgeSeconds(rt, data.realtimeAt, now);
  const p1Age = p1AgeSeconds(rt, data.realtimeAt, now);
  return (
    <Box flexDirection="column" paddingX={1}>
      <Box justifyContent="space-between">
        <Text bold wrap="truncate">
          Kwartier top · {data.deviceId}
        </Text>
        <Text>
          {clock.hms(now)} {data.timezone}
        </Text>
      </Box>
      <Text wrap="truncate">
        <Text color={linkColour}>{linkText}</Text>
        {rt
          ? ` · snapshot ${clock.hms(rt.timestamp)} (${duration(snapAge)} ago) · P1 telegram ${
              p1Age === null ? DASH : `${duration(p1Age)} ago`
            }`
          : ' · no snapshot yet'}
      </Text>
    </Box>
  );
}

function Tabs({ page, theme }: { page: Page; theme: Theme }): ReactNode {
  return (
    <Box paddingX={1}>
      {PAGES.map((p, i) => (
        <Box key={p} marginRight={2}>
          <Text inverse={p === page} color={p === page ? theme.accent : undefined}>
            {p === page ? `[${i + 1} ${p}]` : ` ${i + 1} ${p} `}
          </Text>
        </Box>
      ))}
    </Box>
  );
}

function Title({ children }: { children: ReactNode }): ReactNode {
  return (
    <Text bold underline>
      {children}
    </Text>
  );
}

function flowColour(key: string, direction: string, theme: Theme): string | undefined {
  if (key === 'grid') return direction === 'in' ? theme.bad : direction === 'out' ? theme.good : undefined;
  if (key === 'solar') return theme.solar;
  if (key === 'battery') return theme.battery;
  return undefined;
}

function PowerFlow({ ctx, width }: { ctx: PageContext; width: number }): ReactNode {
  const rt = ctx.data.realtime;
  if (!rt) return <Text>Power now: {DASH} (waiting for the first snapshot)</Text>;
  const rows = flows(rt);
  const max = Math.max(1000, ...rows.map((r) => Math.abs(r.watts ?? 0)));
  const barWidth = Math.max(4, width - 42);
  return (
    <Box flexDirection="column">
      <Title>Power now</Title>
      {rows.map((r) => (
        <Text key={r.key} wrap="truncate">
          {'  '}
          {r.label.padEnd(8)}
          {(r.verb || DASH).padEnd(12)}
          <Text color={flowColour(r.key, r.direction, ctx.theme)}>{flowPower(r).padStart(9)}</Text>
          {'  '}
          <Text color={flowColour(r.key, r.direction, ctx.theme)}>
            {bar(r.watts === null ? null : Math.abs(r.watts), max, barWidth - (r.extra ? r.extra.length + 1 : 0))}
          </Text>
          {r.extra ? ` ${r.extra}` : ''}
        </Text>
      ))}
    </Box>
  );
}

function TodaySummary({ ctx }: { ctx: PageContext }): ReactNode {
  const { cost, selfSufficiency: ss } = ctx.data;
  return (
    <Box flexDirection="column">
      <Title>Today</Title>
      {cost ? (
        <>
          <Text wrap="truncate">
            {'  '}Import {kwh(cost.consumed_kwh)} · Export {kwh(cost.returned_kwh)} · Solar {kwh(cost.solar_kwh)}
          </Text>
          <Text wrap="truncate">
            {'  '}Home {kwh(ss?.consumed_kwh ?? null)} · Self-sufficiency {pct(ss?.self_sufficiency_pct ?? null)}
          </Text>
          <Text wrap="truncate">
            {'  '}Cost {euro(cost.cost_eur)} · without PV {euro(cost.cost_without_pv_eur)} · PV saved{' '}
            {euro(cost.pv_profit_eur)}
          </Text>
        </>
      ) : (
        <Text> {ctx.data.errors.today ? `unavailable: ${ctx.data.errors.today}` : 'loading…'}</Text>
      )}
    </Box>
  );
}

function QuarterSummary({ ctx }: { ctx: PageContext }): ReactNode {
  const { capacity: c, alert } = ctx.data;
  const { clock, theme } = ctx;
  if (!c)
    return (
      <Text>This quarter: {ctx.data.errors.capacity ? `unavailable: ${ctx.data.errors.capacity}` : 'loading…'}</Text>
    );
  const f = c.forecast;
  const over = f?.new_peak_expected === true || alert !== null;
  return (
    <Box flexDirection="column">
      <Title>{f ? `This quarter ${quarterWindow(clock, f)}` : 'This quarter'}</Title>
      <Text wrap="truncate">
        {'  '}So far {power(f?.avg_so_far_w ?? null)} · Forecast{' '}
        <Text color={over ? theme.bad : theme.good}>{power(f?.projected_w ?? null)}</Text> · Headroom{' '}
        {power(f?.headroom_w ?? null)}
        {over ? ' · NEW PEAK EXPECTED' : ''}
      </Text>
      <Text wrap="truncate">
        {'  '}Month peak {power(c.month_peak_w)}
        {c.month_peak_start ? ` (${clock.dayHm(c.month_peak_start)})` : ''} · Meter's peak {power(c.meter_month_peak_w)}
      </Text>
    </Box>
  );
}

function DeviceLine({ ctx }: { ctx: PageContext }): ReactNode {
  const rt = ctx.data.realtime;
  if (!rt) return null;
  const states = deviceStates(rt, 1);
  return (
    <Text wrap="truncate">
      <Text bold underline>
        Devices
      </Text>{' '}
      {states.length === 0
        ? DASH
        : states.map((d, i) => (
            <Text key={d.name}>
              {i > 0 ? ' · ' : ''}
              {d.name} <Text color={d.ok ? ctx.theme.good : ctx.theme.bad}>{d.ok ? 'ok' : 'stale'}</Text>
            </Text>
          ))}
    </Text>
  );
}

/** Today's quarter-hours as a sparkline, for terminals with rows to spare. */
function TodaysQuarters({ ctx }: { ctx: PageContext }): ReactNode {
  const c = ctx.data.capacity;
  if (!c) return null;
  const quarters = todaysQuarters(c, localDayStart(ctx.now, ctx.data.timezone)).slice(-(ctx.columns - 6));
  if (quarters.length === 0) return null;
  const values = quarters.map((q) => q.w);
  const max = Math.max(c.month_peak_w ?? 0, ...values.map((v) => v ?? 0));
  const first = quarters[0];
  return (
    <Box flexDirection="column">
      <Title>Today's quarter-hours (import, up to the month peak {power(max)})</Title>
      <Text wrap="truncate">
        {'  '}
        <Text color={ctx.theme.accent}>{sparkline(values, max)}</Text>
      </Text>
      <Text wrap="truncate">
        {'  '}from {first ? ctx.clock.hm(first.start) : DASH}, one cell per quarter
      </Text>
    </Box>
  );
}

function Overview({ ctx }: { ctx: PageContext }): ReactNode {
  const tall = ctx.rows >= 26;
  if (ctx.columns >= WIDE) {
    const half = Math.floor((ctx.columns - 4) / 2);
    return (
      <Box flexDirection="column" gap={1}>
        <Box>
          <Box width={half} marginRight={2}>
            <PowerFlow ctx={ctx} width={half} />
          </Box>
          <Box width={half} flexDirection="column">
            <TodaySummary ctx={ctx} />
          </Box>
        </Box>
        <QuarterSummary ctx={ctx} />
        {tall ? <TodaysQuarters ctx={ctx} /> : null}
        <DeviceLine ctx={ctx} />
      </Box>
    );
  }
  return (
    <Box flexDirection="column">
      <PowerFlow ctx={ctx} width={ctx.columns - 2} />
      <Text> </Text>
      <TodaySummary ctx={ctx} />
      <Text> </Text>
      <QuarterSummary ctx={ctx} />
      <Text> </Text>
      {tall ? <TodaysQuarters ctx={ctx} /> : null}
      {tall ? <Text> </Text> : null}
      <DeviceLine ctx={ctx} />
    </Box>
  );
}

/** `label ....... value` rows of two columns. */
function KeyValues({ rows, width = 34 }: { rows: Array<[string, string]>; width?: number }): ReactNode {
  return (
    <Box flexDirection="column">
      {rows.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          {'  '}
          {k.padEnd(Math.max(k.length + 1, width - v.length - 2), ' ')}
          {v}
        </Text>
      ))}
    </Box>
  );
}

function Today({ ctx }: { ctx: PageContext }): ReactNode {
  const { cost, selfSufficiency: ss, errors } = ctx.data;
  if (!cost) return <Text>Today: {errors.today ? `unavailable: ${errors.today}` : 'loading…'}</Text>;
  const energy: Array<[string, string]> = [
    ['Imported', kwh(cost.consumed_kwh)],
    ['Exported', kwh(cost.returned_kwh)],
    ['Solar', kwh(cost.solar_kwh)],
    ['Home used', kwh(ss?.consumed_kwh ?? null)],
    ['Battery charged', kwh(cost.battery_charge_kwh)],
    ['Battery discharged', kwh(cost.battery_discharge_kwh)],
    ['Gas', cost.gas_m3 === null ? DASH : `${cost.gas_m3.toFixed(3)} m3`],
    ['Self-sufficiency', pct(ss?.self_sufficiency_pct ?? null)],
    ['Self-consumption', pct(ss?.self_consumption_pct ?? null)],
  ];
  const money: Array<[string, string]> = [
    ['Cost so far', euro(cost.cost_eur)],
    ['Without PV', euro(cost.cost_without_pv_eur)],
    ['PV saved', euro(cost.pv_profit_eur)],
  ];
  const wide = ctx.columns >= WIDE;
  // The bill's lines fill what is left: beside the totals when wide, else below them.
  const room = wide ? ctx.rows - 2 : ctx.rows - energy.length - money.length - 3;
  const lines = cost.breakdown.slice(0, Math.max(0, room));
  const breakdown =
    lines.length > 0 ? (
      <Box flexDirection="column">
        <Title>Bill so far</Title>
        {lines.map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: two contract periods can repeat a label; lines never reorder
          <Text key={`${i}-${l.label}`} wrap="truncate">
            {'  '}
            {l.label.slice(0, 44).padEnd(45)}
            {euro(l.amount_eur).padStart(10)}
          </Text>
        ))}
        {cost.breakdown.length > lines.length ? <Text> … {cost.breakdown.length - lines.length} more</Text> : null}
      </Box>
    ) : null;
  const totals = (
    <Box flexDirection="column">
      <Title>Today's energy</Title>
      <KeyValues rows={energy} />
      <KeyValues rows={money} />
    </Box>
  );
  return wide ? (
    <Box gap={4}>
      {totals}
      {breakdown}
    </Box>
  ) : (
    <Box flexDirection="column">
      {totals}
      {breakdown}
    </Box>
  );
}

function CapacityPage({ ctx }: { ctx: PageContext }): ReactNode {
  const { capacity: c, errors, realtime: rt } = ctx.data;
  if (!c) return <Text>Capacity: {errors.capacity ? `unavailable: ${errors.capacity}` : 'loading…'}</Text>;
  const f = c.forecast;
  const facts: Array<[string, string]> = [
    ['Quarter', f ? quarterWindow(ctx.clock, f) : DASH],
    ['Elapsed', f ? duration(f.elapsed_s) : DASH],
    ['Average so far', power(f?.avg_so_far_w ?? null)],
    ['Forecast at its end', power(f?.projected_w ?? null)],
    ['Headroom', power(f?.headroom_w ?? null)],
    ["Meter's running average", power(rt?.grid_avg_15m_w ?? null)],
    ['Month peak', power(c.month_peak_w)],
    ['  at', c.month_peak_start ? ctx.clock.dayHm(c.month_peak_start) : DASH],
    ["Meter's month peak", power(c.meter_month_peak_w)],
    ['12-month average (billed)', power(c.rolling_12m_avg_w)],
    ['Yearly capacity cost', euro(c.yearly_cost_eur)],
  ];
  const history = c.history.slice(-Math.max(0, ctx.columns >= WIDE ? ctx.rows - 1 : ctx.rows - facts.length - 2));
  const max = Math.max(2500, ...history.map((h) => h.peak_w ?? 0));
  const barWidth = Math.max(4, (ctx.columns >= WIDE ? Math.floor(ctx.columns / 2) : ctx.columns) - 24);
  const peaks =
    history.length > 0 ? (
      <Box flexDirection="column">
        <Title>Monthly peaks</Title>
        {history.map((h) => (
          <Text key={h.month} wrap="truncate">
            {'  '}
            {h.month} {power(h.peak_w).padStart(9)} {bar(h.peak_w, max, barWidth)}
          </Text>
        ))}
      </Box>
    ) : null;
  const today = todaysQuarters(c, localDayStart(ctx.now, ctx.data.timezone));
  const todayPeak = today.reduce<number | null>((m, q) => (q.w === null ? m : Math.max(m ?? 0, q.w)), null);
  const left = (
    <Box flexDirection="column">
      <Title>Capacity tariff{f?.new_peak_expected || ctx.data.alert ? ' · NEW PEAK EXPECTED' : ''}</Title>
      <KeyValues rows={[...facts, ["Today's highest quarter", power(todayPeak)]]} width={40} />
    </Box>
  );
  return ctx.columns >= WIDE ? (
    <Box gap={4}>
      {left}
      {peaks}
    </Box>
  ) : (
    <Box flexDirection="column">
      {left}
      {peaks}
    </Box>
  );
}

function Devices({ ctx }: { ctx: PageContext }): ReactNode {
  const { realtime: rt, realtimeAt } = ctx.data;
  if (!rt) return <Text>Devices: waiting for the first snapshot</Text>;
  const states = deviceStates(rt, ctx.columns >= WIDE ? 6 : 3);
  const p1 = p1AgeSeconds(rt, realtimeAt, ctx.now);
  return (
    <Box flexDirection="column">
      <Title>Devices</Title>
      {states.map((d) => (
        <Text key={d.name} wrap="truncate">
          {'  '}
          {d.name.padEnd(12)}
          {d.type.padEnd(12)}
          <Text color={d.ok ? ctx.theme.good : ctx.theme.bad}>{(d.ok ? 'ok' : 'stale').padEnd(7)}</Text>
          {d.detail}
        </Text>
      ))}
      <Text> </Text>
      <KeyValues
        width={40}
        rows={[
          ['Last P1 telegram', p1 === null ? DASH : `${duration(p1)} ago`],
          ['Snapshot', `${ctx.clock.hms(rt.timestamp)} (${duration(snapshotAgeSeconds(rt, realtimeAt, ctx.now))} ago)`],
          ['Stale sources', rt.stale_sources.length > 0 ? rt.stale_sources.join(', ') : 'none'],
          ['Grid tariff', tariffName(rt.grid_tariff, rt.country)],
          [
            'Voltage L1 / L2 / L3',
            [rt.voltage_l1_v, rt.voltage_l2_v, rt.voltage_l3_v]
              .map((v) => (v === null ? DASH : v.toFixed(1)))
              .join(' / '),
          ],
        ]}
      />
    </Box>
  );
}

/** The meter's tariff register in words: in Belgium 1 is day and 2 night, in the Netherlands 1 is low. */
function tariffName(tariff: number | null, country: string | null): string {
  if (tariff === null) return DASH;
  const names: Record<string, Record<number, string>> = { be: { 1: 'day', 2: 'night' }, nl: { 1: 'low', 2: 'normal' } };
  const name = country ? names[country]?.[tariff] : undefined;
  return name ? `${tariff} (${name})` : String(tariff);
}
