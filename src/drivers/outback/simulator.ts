/**
 * A simulated OutBack hub on loopback: the register map of a recorded MATE3S or AXS Port
 * (recorded.ts) served over Modbus TCP by the SunSpec register server (exception 2 past the map).
 * It serves the recording, not the simulated home: the recorded words are the facts being tested.
 */
import type { Logger } from '../../lib/log.js';
import { type RegisterServer, startDumpReplay, startRegisterServer } from '../sunspec/simulator.js';
import { type OutBackRecording, outbackRecording } from './recorded.js';

export interface OutBackSimulatorOptions {
  host: string;
  port: number;
  /** Default the MATE3S with two Radians, two FLEXmax and a FLEXnet DC. */
  recording?: OutBackRecording;
  log?: Logger;
}

export function startOutBackSimulator(o: OutBackSimulatorOptions): Promise<RegisterServer> {
  return startRegisterServer({
    host: o.host,
    port: o.port,
    registers: outbackRecording(o.recording ?? 'mate3s-chinezbrun'),
    name: 'outback',
    ...(o.log ? { log: o.log } : {}),
  });
}

/** The definition's replay: a hub's raw register dump (.json as adamcharnock/mate3 keeps them, or .csv). */
export const startOutBackReplay = startDumpReplay;
