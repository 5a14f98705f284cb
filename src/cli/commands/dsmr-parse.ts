/**
 * `kwartier dsmr parse [FILE|-] [--country be|nl]`: P1 telegrams in, one JSON object per valid
 * telegram out (stdout, one per line). Rejected telegrams are reported on stderr and make the exit
 * code 2; the good ones around them are still printed.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { UsageError } from '../../core/errors.js';
import type { FrameEvent } from '../../drivers/dsmr/framer.js';
import { TelegramFramer } from '../../drivers/dsmr/framer.js';
import { parseFramed } from '../../drivers/dsmr/parser.js';
import type { Country } from '../../drivers/dsmr/telegram.js';
import { type CliIO, type Command, parseFlags } from '../command.js';

const USAGE = `Usage: kwartier dsmr parse [FILE|-] [--country be|nl]

Parses P1 smart-meter telegrams (DSMR 2.2 to 5.0.2, Belgian e-MUCS) from FILE, or from standard
input when FILE is "-" or absent, and prints one JSON object per valid telegram, one per line.
Each telegram's CRC is checked. Bytes outside telegrams are skipped.

Options:
  --country be|nl   what tariff 1 and 2 mean, and where gas and water are read
                    (default: detected: 0-0:96.1.4 present means Belgium, else the Netherlands)
  -h, --help        show this help

Output keys, in this order (null when the telegram lacks the value; power in W, energy in kWh,
times ISO 8601 UTC): meter_timestamp, equipment_id, country, tariff_indicator,
energy_import_t1_kwh, energy_import_t2_kwh, energy_export_t1_kwh, energy_export_t2_kwh,
power_import_w, power_export_w, power_l1_import_w .. power_l3_export_w, voltage_l1_v ..,
current_l1_a .., avg_demand_15m_w, month_peak_w, month_peak_timestamp, peak_history,
gas_m3, gas_timestamp, water_m3, water_timestamp; then header, p1_version, totals, power
failures, heat_gj, the M-Bus devices (mbus) and the lines it does not map (other: OBIS code,
value and unit as sent).

Examples:
  kwartier dsmr parse telegram.txt
  cat capture.txt | kwartier dsmr parse - --country nl
  socat -u TCP:192.168.1.60:2001 - | kwartier dsmr parse          # a live ser2net stream
  kwartier dsmr parse capture.txt | jq -c '{t: .meter_timestamp, w: .power_import_w}'

Exit codes: 0 every telegram valid; 2 a telegram was rejected (bad CRC, cut off), no telegram
was found, the file cannot be read, or a usage error.
`;

export const command: Command = {
  name: 'dsmr parse',
  summary: 'Parse P1 telegrams (DSMR / e-MUCS) from a file or stdin and print one JSON object per telegram',
  usage: USAGE,
  async run(args, io) {
    const parsed = parseFlags(this, args, { country: { type: 'string' } }, true);
    if (parsed === null) {
      io.stdout.write(USAGE);
      return 0;
    }
    const [file, extra] = parsed.positionals;
    if (extra !== undefined) throw new UsageError(`kwartier dsmr parse: unexpected argument ${JSON.stringify(extra)}`);
    const countryArg = (parsed.values as { country?: string }).country;
    if (countryArg !== undefined && countryArg !== 'be' && countryArg !== 'nl') {
      throw new UsageError(`kwartier dsmr parse: --country must be be or nl, got ${JSON.stringify(countryArg)}`);
    }
    const country = countryArg as Country | undefined;
    const input = await openInput(file, io);
    return parseStream(input, io, country === undefined ? {} : { country });
  },
};

async function openInput(file: string | undefined, io: CliIO): Promise<AsyncIterable<Buffer | string>> {
  if (file === undefined || file === '-') return io.stdin as AsyncIterable<Buffer | string>;
  try {
    const handle = await open(file, 'r');
    return handle.createReadStream();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UsageError(`kwartier dsmr parse: cannot read ${file}: ${why}`);
  }
}

async function parseStream(
  input: AsyncIterable<Buffer | string>,
  io: CliIO,
  opts: { country?: Country },
): Promise<number> {
  const framer = new TelegramFramer();
  let good = 0;
  let bad = 0;
  const handle = async (events: FrameEvent[]): Promise<void> => {
    for (const ev of events) {
      if (ev.type === 'error') {
        bad++;
        io.stderr.write(`kwartier dsmr parse: rejected: ${ev.error.message}\n`);
        continue;
      }
      good++;
      if (!io.stdout.write(`${JSON.stringify(parseFramed(ev, opts))}\n`)) await once(io.stdout, 'drain');
    }
  };
  try {
    for await (const chunk of input) {
      await handle(framer.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
    }
  } catch (err) {
    io.stderr.write(`kwartier dsmr parse: cannot read input: ${(err as Error).message}\n`);
    return 2;
  }
  await handle(framer.end());
  if (good === 0 && bad === 0) {
    io.stderr.write('kwartier dsmr parse: no telegram found in the input (expected "/" … "!CRC")\n');
    return 2;
  }
  if (bad > 0) {
    io.stderr.write(`kwartier dsmr parse: ${good} telegram(s) parsed, ${bad} rejected\n`);
    return 2;
  }
  return 0;
}
