/**
 * A simulated Morningstar TriStar MPPT: a Modbus TCP server on loopback (../modbus/register-server.ts)
 * answering reads of the RAM from recorded words of real controllers (recorded.ts; the fixtures of
 * test/fixtures/tristar-mppt). It serves those words, not the simulated home: the recording is the
 * fact being tested (scaling, encoding, signs).
 *
 * As the real controller: FC03 and FC04 read the same registers; the socket is closed after each
 * answer ("the TCP socket is closed by the TS-MPPT after each MODBUS response", MODBUS document
 * v10 p.2), so a client connects, reads and closes. Unlike it: a read that touches a register the
 * recording lacks answers exception 2 (illegal data address), as the other simulators do for what
 * their recordings lack; a unit id it does not serve gets no answer; writes answer exception 1.
 * `kwartier simulate --device tristar-mppt` serves two controllers on one port, unit 1 in the
 * V_PU/I_PU encoding and unit 2 the same night in half-floats (recorded.ts, simulatorUnits).
 */
import { createLogger } from '../../lib/log.js';
import type { ReplayOptions, RunningReplay } from '../definition.js';
import { replayRecordedUnit } from '../modbus/recorded-reads.js';
import {
  type RegisterMapServer,
  setWords,
  startRegisterMapServer,
  type UnitsSimulatorOptions,
  unitMaps,
} from '../modbus/register-server.js';
import { parseRecorded, simulatorUnits } from './recorded.js';

/** The simulated controllers; without `units`, simulatorUnits() (unit 1 V_PU/I_PU, unit 2 half-floats). */
export interface TristarSimulatorOptions extends UnitsSimulatorOptions {
  /** Close the socket after each answer, as the controller does (default true). */
  closeAfterAnswer?: boolean;
}

export interface TristarSimulator extends RegisterMapServer {
  /** Sets words of a unit from `wire` on (a value changing). */
  set(unit: number, wire: number, ...words: number[]): void;
  /** Removes a register from a unit's map: reads touching it answer exception 2. */
  remove(unit: number, wire: number): void;
}

export async function startTristarSimulator(opts: TristarSimulatorOptions): Promise<TristarSimulator> {
  const log = opts.log ?? createLogger('sim-tristar');
  const units = unitMaps(opts.units ?? simulatorUnits());
  const closeAfter = opts.closeAfterAnswer ?? true;
  const server = await startRegisterMapServer({
    host: opts.host,
    port: opts.port,
    registers: (unit) => units.get(unit),
    readCodes: [3, 4],
    onAnswer(req) {
      // The server writes the answer when this returns; end() after it sends it, then closes.
      if (closeAfter) setImmediate(() => server.end(req.connection));
    },
  });
  log.info({ host: opts.host, port: server.port, units: [...units.keys()] }, 'tristar-mppt simulator listening');
  return Object.assign(server, {
    set(unit: number, wire: number, ...words: number[]) {
      const regs = units.get(unit);
      if (!regs) throw new Error(`tristar simulator: no unit ${unit}`);
      setWords(regs, wire, words);
    },
    remove(unit: number, wire: number) {
      units.get(unit)?.delete(wire);
    },
  });
}

/** The definition's replay: one recorded file's unit (recorded.ts format), which the driver reads. */
export function startTristarReplay(o: ReplayOptions): Promise<RunningReplay> {
  return replayRecordedUnit(o, parseRecorded, startTristarSimulator);
}
