/** The Today, Capacity and Devices pages of `kwartier top`. */
import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { localDayStart } from '../../core/time/index.js';
import {
  bar,
  DASH,
  deviceStates,
  duration,
  euro,
  kwh,
  p1AgeSeconds,
  pct,
  power,
  quarterWindow,
  snapshotAgeSeconds,
  todaysQuarters,
} from './model.js';
import { KeyValues, type PageContext, Title, WIDE } from './page-context.js';

export function Today({ ctx }: { ctx: PageContext }): ReactNode {
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

export function CapacityPage({ ctx }: { ctx: PageContext }): ReactNode {
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

export function Devices({ ctx }: { ctx: PageContext }): ReactNode {
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
