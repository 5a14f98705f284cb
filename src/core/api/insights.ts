/**
 * The answers of the insight routes: the capacity tariff (GET /api/v1/capacity-tariff/{device_id}),
 * self-sufficiency and the cost estimate (…/self-sufficiency/…, …/cost-estimate/…). They are
 * computed by core/capacity and core/tariff; these schemas are what goes on the wire.
 */
import { type Static, Type } from '@sinclair/typebox';
import { NETWORK_RULE_KINDS } from '../tariff/regions.js';
import { LocalTime, Nullable, NullableNumber, StringEnum } from './json-schema.js';

/** Which network rule applies (docs/tariffs.md §3 "Which rule applies"); null without a tariff or a contract. */
export const NetworkRuleSchema = Nullable(
  Type.Object(
    {
      kind: StringEnum(NETWORK_RULE_KINDS, {
        description:
          'capacity_tariff: the monthly 15-minute peak (Flanders); time_of_use: network prices per time band ' +
          '(Wallonia); connection_capacity: a yearly term by connection size (Brussels); none.',
      }),
      region: Nullable(Type.String({ description: "The tariff file's `region` preset." })),
    },
    { description: 'The network rule of the contract in force (null without a tariff or outside every contract).' },
  ),
);

export const CapacityForecastSchema = Type.Object({
  quarter_start: LocalTime('Start of the running quarter.'),
  elapsed_s: Type.Number(),
  avg_so_far_w: Nullable(Type.Number()),
  projected_w: Nullable(Type.Number({ description: 'The quarter average at its end if the current import holds.' })),
  headroom_w: Nullable(
    Type.Number({
      description: 'Constant import power for the rest of the quarter that ends it exactly at the limit.',
    }),
  ),
  new_peak_expected: Type.Boolean(),
});
export type CapacityForecast = Static<typeof CapacityForecastSchema>;

export const CapacitySchema = Type.Object(
  {
    device_id: Type.String(),
    month: Type.String({ description: 'YYYY-MM' }),
    quarters: Type.Array(
      Type.Object({
        start: LocalTime('Start of the clock quarter.'),
        avg_import_w: Nullable(
          Type.Number({ description: 'Average import power over the quarter (kWh × 4000); null without data.' }),
        ),
      }),
      { description: 'Every completed quarter of the month (up to the running one), oldest first.' },
    ),
    month_peak_w: Nullable(Type.Number({ description: 'Highest quarter of the month (W) from our data.' })),
    month_peak_start: Nullable(Type.String({ format: 'date-time' })),
    meter_month_peak_w: Nullable(
      Type.Number({ description: "The meter's own monthly peak (1-0:1.6.0) in the latest snapshot." }),
    ),
    history: Type.Array(Type.Object({ month: Type.String(), peak_w: Nullable(Type.Number()) }), {
      description: 'The peaks of the 12 months ending with this one, oldest first.',
    }),
    rolling_12m_avg_w: Nullable(
      Type.Number({ description: 'Billed value: average of 12 monthly peaks, floor applied.' }),
    ),
    rate_eur_per_kw_year: Nullable(Type.Number()),
    yearly_cost_eur: Nullable(Type.Number()),
    network_rule: NetworkRuleSchema,
    forecast: Nullable(CapacityForecastSchema),
  },
  { $id: 'CapacityTariff' },
);
export type CapacityAnswer = Static<typeof CapacitySchema>;

export const SelfSufficiencySchema = Type.Object(
  {
    device_id: Type.String(),
    period: Type.String(),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
    self_sufficiency_pct: Nullable(
      Type.Number({ description: '(load − import) / load × 100: the load not taken from the grid.' }),
    ),
    self_consumption_pct: Nullable(
      Type.Number({ description: 'PV used at home (directly or through the battery) / PV × 100.' }),
    ),
    consumed_kwh: Nullable(
      Type.Number({ description: "The home's load: import + PV − export − battery charge + discharge." }),
    ),
    solar_kwh: NullableNumber,
    direct_consumption_kwh: Nullable(Type.Number({ description: 'PV used at once (not exported, not stored).' })),
    imported_kwh: NullableNumber,
    exported_kwh: NullableNumber,
    battery_charge_kwh: NullableNumber,
    battery_discharge_kwh: NullableNumber,
  },
  { $id: 'SelfSufficiency' },
);
export type SelfSufficiencyAnswer = Static<typeof SelfSufficiencySchema>;

export const BreakdownLineSchema = Type.Object({
  label: Type.String(),
  quantity: Type.Number(),
  unit: Type.String(),
  unit_price_eur: NullableNumber,
  amount_eur: NullableNumber,
});
export type BreakdownLineAnswer = Static<typeof BreakdownLineSchema>;

export const CostEstimateSchema = Type.Object(
  {
    device_id: Type.String(),
    period: Type.String(),
    start: Type.String({ format: 'date-time' }),
    end: Type.String({ format: 'date-time' }),
    consumed_kwh: Nullable(Type.Number({ description: 'From the grid.' })),
    returned_kwh: Nullable(Type.Number({ description: 'To the grid.' })),
    direct_consumption_kwh: NullableNumber,
    solar_kwh: NullableNumber,
    battery_charge_kwh: NullableNumber,
    battery_discharge_kwh: NullableNumber,
    gas_m3: NullableNumber,
    water_m3: NullableNumber,
    cost_eur: Nullable(
      Type.Number({
        description: 'Null when some energy has no price (listed in the breakdown) or no tariff is configured.',
      }),
    ),
    cost_without_pv_eur: NullableNumber,
    pv_profit_eur: NullableNumber,
    breakdown: Type.Array(BreakdownLineSchema, { description: 'Bill-like lines, VAT last.' }),
    network_rule: NetworkRuleSchema,
  },
  { $id: 'CostEstimate' },
);
export type CostEstimateAnswer = Static<typeof CostEstimateSchema>;
