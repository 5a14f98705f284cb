/** The overview page of `kwartier top`: power now, today, this quarter, today's quarters, devices. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { localDayStart } from '../../core/time/index.js';
import {
  bar,
  DASH,
  deviceStates,
  euro,
  flowPower,
  flows,
  kwh,
  pct,
  power,
  quarterWindow,
  sparkline,
  todaysQuarters,
} from './model.js';
import { type PageContext, type Theme, Title, WIDE } from './page-context.js';

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

export function Overview({ ctx }: { ctx: PageContext }): ReactNode {
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
