import { type Static, Type } from '@sinclair/typebox';

/** `dsmr:` in the edge config: a P1 port read over TCP (ser2net, a P1-to-network bridge) or serial. */
export const DsmrConfigSchema = Type.Object(
  {
    /** HOST:PORT of a raw telegram stream. Exactly one of tcp / serial. */
    tcp: Type.Optional(Type.String({ minLength: 3 })),
    /** Serial device path, e.g. /dev/ttyUSB0. */
    serial: Type.Optional(Type.String({ minLength: 1 })),
    /** DSMR 5 and e-MUCS: 115200 8N1. DSMR 4: 115200 7E1. DSMR 2.2/3: 9600 7E1. */
    baudrate: Type.Integer({ default: 115200, minimum: 300, maximum: 1_000_000 }),
    parity: Type.Union([Type.Literal('none'), Type.Literal('even'), Type.Literal('odd')], { default: 'none' }),
    data_bits: Type.Union([Type.Literal(7), Type.Literal(8)], { default: 8 }),
    stop_bits: Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 }),
    /** be or nl; detected from the telegram when absent (0-0:96.1.4 present means Belgium). */
    country: Type.Optional(Type.Union([Type.Literal('be'), Type.Literal('nl')])),
    /** Reconnect when no valid telegram arrived for this many seconds (default 30). */
    idle_timeout_s: Type.Optional(Type.Number({ minimum: 1, maximum: 3600 })),
  },
  { additionalProperties: false },
);
export type DsmrConfig = Static<typeof DsmrConfigSchema>;
