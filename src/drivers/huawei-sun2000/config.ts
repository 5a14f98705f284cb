import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../../core/errors.js';

/**
 * A `devices:` entry of type huawei-sun2000: one SUN2000 inverter (with its power meter and
 * battery, when it has them) over Modbus TCP, through an SDongle or the inverter's own access point.
 * Defaults follow devices.md §1.1–§1.2 (huawei-solar-lib: 1.5 s after connecting, one request at
 * a time 50 ms apart, a 10 s timeout "especially the SDongle can react quite slowly").
 */
export const HuaweiConfigSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      description: "The SDongle's address, or 192.168.200.1 on the inverter's access point",
    }),
    port: Type.Integer({
      default: 502,
      minimum: 1,
      maximum: 65535,
      description: '502 (SDongle), 6607 on the inverter’s access point',
    }),
    unit_id: Type.Integer({
      default: 1,
      minimum: 0,
      maximum: 247,
      description: 'Modbus unit: 1, 2, … per inverter behind an SDongle; 0 on the access point',
    }),
    poll_interval_s: Type.Number({
      default: 5,
      minimum: 1,
      maximum: 3600,
      description: 'The inverter and battery; below 5 s on your own hardware’s word only',
    }),
    meter_interval_s: Type.Number({
      default: 2,
      minimum: 1,
      maximum: 3600,
      description: 'The power meter block, when the inverter has one (never slower than poll_interval_s)',
    }),
    timeout_ms: Type.Integer({ default: 10_000, minimum: 500, maximum: 60_000 }),
    connect_delay_ms: Type.Integer({
      default: 1500,
      minimum: 0,
      maximum: 60_000,
      description: 'Wait after connecting',
    }),
    inter_register_delay_ms: Type.Integer({
      default: 50,
      minimum: 0,
      maximum: 10_000,
      description: 'Pause between requests',
    }),
    busy_retries: Type.Integer({
      default: 5,
      minimum: 0,
      maximum: 10,
      description: 'A request answered "busy" (exception 6) is asked again this often, slower each time',
    }),
    max_registers_per_request: Type.Integer({ default: 64, minimum: 1, maximum: 125 }),
    retry_unsupported_s: Type.Number({ default: 3600, minimum: 1, maximum: 86_400 }),
  },
  { additionalProperties: false },
);
export type HuaweiConfig = Static<typeof HuaweiConfigSchema>;

/** The SDongle's own unit id: it answers only the plant's totals, not an inverter's registers. */
export const SDONGLE_UNIT_ID = 100;

/** What the schema cannot say. */
export function checkHuaweiConfig(c: HuaweiConfig, key: string): void {
  if (c.unit_id === SDONGLE_UNIT_ID) {
    throw new ConfigError(
      `${key}.unit_id: 100 is the SDongle itself (the plant's totals), not an inverter: use 1 for the ` +
        'first inverter behind the dongle (2, 3, … for the others), or 0 on the inverter’s access point',
    );
  }
}
