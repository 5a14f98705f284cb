/**
 * SunSpec discovery: find the `SunS` marker and walk the model chain by the lengths the device
 * reports (devices.md §3.1–§3.2; pysunspec2 `client.py` scan).
 *
 * - The marker (0x5375 0x6E53) is tried at the wire addresses 40000, 0 and 50000, in that order.
 * - From marker + 2: a model is its ID, its length L, then L registers; the next starts at
 *   address + 2 + L. The device's L is trusted, never a published one (OutBack reports the common
 *   model with 65, its blocks with lengths of their own firmware).
 * - The walk stops at ID 0xFFFF (the end model), at ID 0 or L 0 (the OutBack AXS Port answers zeros
 *   after its last model instead of an end marker), at Modbus exception 2 (past the map), and after
 *   MAX_MODELS models or at the end of the address space. ID and L are read together; a device whose
 *   end model has no L register answers that read with exception 2, and then the ID alone is read.
 */
import { EXCEPTION_ILLEGAL_DATA_ADDRESS, ModbusException, type RegisterTransport } from '../modbus/tcp-client.js';

export const SUNSPEC_BASES: readonly number[] = [40000, 0, 50000];
export const SUNS_MARKER: readonly [number, number] = [0x5375, 0x6e53];
export const END_MODEL_ID = 0xffff;
/** More models than any device carries: a device that never ends its chain is cut here. */
export const MAX_MODELS = 64;

/** One model of the chain as the device reports it. */
export interface ModelRef {
  id: number;
  /** Wire address of its ID register. */
  address: number;
  /** L as the device reports it: the registers after ID and L. */
  length: number;
}

export type ChainEnd = 'end_model' | 'zeros' | 'exception' | 'limit';

export interface Chain {
  /** Wire address of the `SunS` marker. */
  base: number;
  models: ModelRef[];
  /** How the walk ended, and the address where it did. */
  end: ChainEnd;
  endAddress: number;
}

/** No `SunS` marker at any base: not a SunSpec device (or the wrong unit id). */
export class NotSunSpecError extends Error {
  constructor(readonly tried: readonly number[]) {
    super(`no SunSpec marker "SunS" at ${tried.join(', ')} (wrong port or unit id?)`);
    this.name = 'NotSunSpecError';
  }
}

/** True for a Modbus exception 2 (illegal data address): the address is not in the device's map. */
function isIllegalAddress(err: unknown): boolean {
  return err instanceof ModbusException && err.exceptionCode === EXCEPTION_ILLEGAL_DATA_ADDRESS;
}

/** The base address holding `SunS`. Other exceptions and transport errors propagate. */
export async function findBase(t: RegisterTransport, bases: readonly number[] = SUNSPEC_BASES): Promise<number> {
  for (const base of bases) {
    let words: number[];
    try {
      words = await t.readRegisters('holding', base, 2);
    } catch (err) {
      if (isIllegalAddress(err)) continue;
      throw err;
    }
    if (words[0] === SUNS_MARKER[0] && words[1] === SUNS_MARKER[1]) return base;
  }
  throw new NotSunSpecError(bases);
}

/** Walks the chain from the marker at `base`. Transport errors propagate (the caller reconnects). */
export async function walkChain(t: RegisterTransport, base: number): Promise<Chain> {
  const models: ModelRef[] = [];
  let address = base + 2;
  for (let n = 0; n < MAX_MODELS; n++) {
    if (address + 1 > 0xffff) return { base, models, end: 'limit', endAddress: address };
    let id: number;
    let length: number;
    try {
      [id = 0, length = 0] = await t.readRegisters('holding', address, 2);
    } catch (err) {
      if (!isIllegalAddress(err)) throw err;
      // An end model without a length register, or the end of the map.
      try {
        [id = 0] = await t.readRegisters('holding', address, 1);
      } catch (inner) {
        if (!isIllegalAddress(inner)) throw inner;
        return { base, models, end: 'exception', endAddress: address };
      }
      return { base, models, end: id === END_MODEL_ID ? 'end_model' : 'exception', endAddress: address };
    }
    if (id === END_MODEL_ID) return { base, models, end: 'end_model', endAddress: address };
    if (id === 0 || length === 0) return { base, models, end: 'zeros', endAddress: address };
    models.push({ id, address, length });
    address += 2 + length;
  }
  return { base, models, end: 'limit', endAddress: address };
}

/** Finds the marker and walks the chain. */
export async function discover(t: RegisterTransport, bases: readonly number[] = SUNSPEC_BASES): Promise<Chain> {
  return walkChain(t, await findBase(t, bases));
}

/** "1(65) 64110(420) … end_model": a chain in one line, for logs and tests. */
export function describeChain(c: Chain): string {
  return `${c.models.map((m) => `${m.id}(${m.length})`).join(' ')} ${c.end}@${c.endAddress}`;
}

/** Two walks found the same models at the same places. */
export function sameChain(a: Chain, b: Chain): boolean {
  return (
    a.base === b.base &&
    a.models.length === b.models.length &&
    a.models.every((m, i) => {
      const o = b.models[i];
      return o !== undefined && o.id === m.id && o.address === m.address && o.length === m.length;
    })
  );
}
