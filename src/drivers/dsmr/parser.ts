/**
 * P1 telegram parser (DSMR 2.2–5.0.2, Belgian e-MUCS). Takes one framed telegram (see framer.ts;
 * this module trusts the framing and does not check the CRC) and returns a P1Telegram. It never
 * throws on odd content: lines it does not map are kept as sent under `other`, malformed values of
 * the lines it maps become null.
 *
 * One pass over the lines (line-reader.ts): each line's OBIS code is looked up in the tables of
 * obis-table.ts, whose row names the decoder and the field the value goes to; the output is built
 * once at the end, when the country (and so the M-Bus registers to read) is known.
 */
import { otherValue } from './decoders.js';
import { DsmrFrameError, type FramedTelegram, TelegramFramer } from './framer.js';
import { LineReader, obisKey } from './line-reader.js';
import { legacyValue, type MbusChannel, mbusChannel, pickDevice, pickHeat, resolveMbus } from './mbus.js';
import { applyFieldRow, applyMbusRow, emptyAcc, FIELD_ROWS, Field, MBUS_ROWS, type TelegramAcc } from './obis-table.js';
import type { Country, P1Telegram } from './telegram.js';

export interface ParseOptions {
  /** Overrides detection (0-0:96.1.4 present ⇒ 'be', else 'nl'). */
  country?: Country;
}

/**
 * Parses one telegram (`/` … `!`; anything after the `!` is ignored), given as latin1 text or as the
 * received bytes. Never throws. It does not check the CRC: use TelegramFramer or parseTelegramBytes.
 */
export function parseTelegram(input: string | Uint8Array, opts: ParseOptions = {}): P1Telegram {
  if (typeof input === 'string') return parseLines(new LineReader(input, Buffer.from(input, 'latin1')), opts);
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return parseLines(new LineReader(bytes.toString('latin1'), bytes), opts);
}

/** Parses a telegram the framer emitted (its text and bytes are already at hand). */
export function parseFramed(telegram: FramedTelegram, opts: ParseOptions = {}): P1Telegram {
  return parseLines(new LineReader(telegram.telegram, telegram.bytes), opts);
}

/**
 * Frames, CRC-checks and parses exactly one telegram (bytes or a latin1 string). Throws the
 * DsmrFrameError when the CRC or framing is wrong, or when there is no telegram in the input.
 */
export function parseTelegramBytes(input: Uint8Array | string, opts: ParseOptions = {}): P1Telegram {
  const framer = new TelegramFramer();
  const events = framer.push(input);
  for (const ev of framer.end()) events.push(ev);
  for (const ev of events) {
    if (ev.type === 'error') throw ev.error;
    return parseFramed(ev, opts);
  }
  throw new DsmrFrameError('dsmr_incomplete', 'no telegram in input (expected "/" … "!CRC")');
}

function parseLines(line: LineReader, opts: ParseOptions): P1Telegram {
  const acc = emptyAcc();
  /** The channel of a 24.3.0 line (DSMR 2.2/3) whose value is on the next line. */
  let awaitingValue: MbusChannel | null = null;
  while (line.nextLine()) {
    if (line.isContinuation()) {
      if (awaitingValue !== null) legacyValue(line, awaitingValue);
      awaitingValue = null;
      continue;
    }
    awaitingValue = null;
    if (!line.readObis()) continue;
    if (line.obisA === 0 && line.obisB > 0) {
      const row = MBUS_ROWS.get(line.obisCde);
      if (row === undefined) {
        acc.other.push(otherValue(line));
        continue;
      }
      const channel = mbusChannel(acc.mbus, line.obisB);
      applyMbusRow(channel, row, line);
      if (row.valueOnNextLine) awaitingValue = channel;
      continue;
    }
    const row = FIELD_ROWS.get(line.obisCde + obisKey(line.obisA, line.obisB, 0, 0, 0));
    if (row === undefined) acc.other.push(otherValue(line));
    else applyFieldRow(acc, row, line);
  }
  return toTelegram(acc, line.header, opts.country ?? (acc.fields[Field.be_version] !== null ? 'be' : 'nl'));
}

/** The output, keys in their fixed order (P1_TELEGRAM_KEYS, then the extras). */
function toTelegram(acc: TelegramAcc, header: string, country: Country): P1Telegram {
  const fields = acc.fields;
  const devices = resolveMbus(acc.mbus, country);
  const gas = pickDevice(devices, 3, 'm3');
  const water = pickDevice(devices, 7, 'm3');
  const heat = pickHeat(devices);
  return {
    meter_timestamp: fields[Field.meter_timestamp],
    equipment_id: fields[Field.equipment_id] ?? fields[Field.serial_alt],
    country,
    tariff_indicator: fields[Field.tariff_indicator],
    energy_import_t1_kwh: fields[Field.energy_import_t1_kwh],
    energy_import_t2_kwh: fields[Field.energy_import_t2_kwh],
    energy_export_t1_kwh: fields[Field.energy_export_t1_kwh],
    energy_export_t2_kwh: fields[Field.energy_export_t2_kwh],
    power_import_w: fields[Field.power_import_w],
    power_export_w: fields[Field.power_export_w],
    power_l1_import_w: fields[Field.power_l1_import_w],
    power_l2_import_w: fields[Field.power_l2_import_w],
    power_l3_import_w: fields[Field.power_l3_import_w],
    power_l1_export_w: fields[Field.power_l1_export_w],
    power_l2_export_w: fields[Field.power_l2_export_w],
    power_l3_export_w: fields[Field.power_l3_export_w],
    voltage_l1_v: fields[Field.voltage_l1_v],
    voltage_l2_v: fields[Field.voltage_l2_v],
    voltage_l3_v: fields[Field.voltage_l3_v],
    current_l1_a: fields[Field.current_l1_a],
    current_l2_a: fields[Field.current_l2_a],
    current_l3_a: fields[Field.current_l3_a],
    avg_demand_15m_w: fields[Field.avg_demand_15m_w],
    month_peak_w: fields[Field.month_peak]?.w ?? null,
    month_peak_timestamp: fields[Field.month_peak]?.ts ?? null,
    peak_history: fields[Field.peak_history],
    gas_m3: gas?.value ?? null,
    gas_timestamp: gas?.timestamp ?? null,
    water_m3: water?.value ?? null,
    water_timestamp: water?.timestamp ?? null,
    header,
    p1_version: fields[Field.p1_version] ?? fields[Field.be_version],
    energy_import_total_kwh: fields[Field.energy_import_total_kwh],
    energy_export_total_kwh: fields[Field.energy_export_total_kwh],
    export_avg_demand_15m_w: fields[Field.export_avg_demand_15m_w],
    export_month_peak_w: fields[Field.export_month_peak]?.w ?? null,
    export_month_peak_timestamp: fields[Field.export_month_peak]?.ts ?? null,
    power_failures: fields[Field.power_failures],
    long_power_failures: fields[Field.long_power_failures],
    power_failure_log: fields[Field.power_failure_log],
    voltage_sags_l1: fields[Field.voltage_sags_l1],
    voltage_sags_l2: fields[Field.voltage_sags_l2],
    voltage_sags_l3: fields[Field.voltage_sags_l3],
    voltage_swells_l1: fields[Field.voltage_swells_l1],
    voltage_swells_l2: fields[Field.voltage_swells_l2],
    voltage_swells_l3: fields[Field.voltage_swells_l3],
    text_message: fields[Field.text_message],
    breaker_state: fields[Field.breaker_state],
    limiter_threshold_w: fields[Field.limiter_threshold_w],
    fuse_threshold_a: fields[Field.fuse_threshold_a],
    heat_gj: heat?.gj ?? null,
    heat_timestamp: heat?.timestamp ?? null,
    mbus: devices,
    other: acc.other,
  };
}
