import { type Static, Type } from '@sinclair/typebox';

/**
 * A `devices:` entry of type ocpp: an EV charger speaking OCPP 1.6J that connects to the edge, the
 * central system (a WebSocket server). The charger's "central system URL" is
 * `ws://<edge>:<port>/ocpp/` (or `ws://<edge>:<port>/`); it appends its charge point id itself.
 */
export const OcppConfigSchema = Type.Object(
  {
    /** HOST:PORT the central system listens on; beyond loopback only with `insecure: true`. */
    listen: Type.String({ default: '127.0.0.1:8887', minLength: 3 }),
    /** Listen beyond loopback (plain ws: the charger's traffic and password cross the LAN unencrypted). */
    insecure: Type.Boolean({ default: false }),
    /** The id the charger connects with (the last part of its URL); every other id is refused. */
    charge_point_id: Type.String({ minLength: 1, maxLength: 48, pattern: '^[^/\\s]+$' }),
    /** OCPP security profile 1: the HTTP Basic password (user = the charge point id) the charger sends. */
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /**
     * wss instead of ws (OCPP security profiles 2 and 3): the edge's certificate and key (PEM files)
     * the charger verifies, and with `ca` the CA whose client certificates chargers must present
     * (profile 3). Beyond loopback it stands in for `insecure: true` when the charger also
     * authenticates: a `password` (profile 2) or a client certificate (profile 3). With `ca`, the
     * certificate's CN must be `client_cn` (default: `charge_point_id`): a CA that signs for many
     * chargers, such as a maker's, does not let one of them connect as another.
     */
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1 }),
          key: Type.String({ minLength: 1 }),
          ca: Type.Optional(Type.String({ minLength: 1 })),
          client_cn: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** The connector the car is on (1 for a single-outlet charger). */
    connector: Type.Integer({ default: 1, minimum: 1, maximum: 16 }),
    /** Phases the charger is wired on (a power limit in W, for chargers that take only W, is 230 V × A × phases). */
    phases: Type.Integer({ default: 3, minimum: 1, maximum: 3 }),
    /** The lowest and highest current a set-point may ask for, A (the cable, the fuse). */
    min_current_a: Type.Number({ default: 6, minimum: 0, maximum: 80 }),
    max_current_a: Type.Number({ default: 16, minimum: 1, maximum: 80 }),
    /** The heartbeat interval given in BootNotification; no message for 3 of them makes the device stale. */
    heartbeat_interval_s: Type.Integer({ default: 60, minimum: 1, maximum: 86_400 }),
    /** MeterValueSampleInterval set after boot (evcc's docs advise under 10 s); 0 leaves the charger's. */
    meter_interval_s: Type.Integer({ default: 10, minimum: 0, maximum: 3600 }),
    /** Charging profiles `Relative` instead of `Absolute` (Wallbox needs it: evcc's profilekindrelative). */
    profile_kind_relative: Type.Boolean({ default: false }),
    /** The stack level of the profiles written (0 for Wallbox firmware 5: evcc's stacklevelzero). */
    stack_level: Type.Integer({ default: 0, minimum: 0, maximum: 100 }),
    /** Allow writes (SetChargingProfile); default read-only: nothing is ever written. */
    control: Type.Boolean({ default: false }),
    /**
     * For a charger that waits for authorization (an RFID card) before it charges: a car plugged in
     * with no transaction (status Preparing) is started with RemoteStartTransaction and this idTag
     * (OCPP CiString20), so the edge's profiles decide when it draws. Needs `control: true`.
     */
    remote_start_id_tag: Type.Optional(Type.String({ minLength: 1, maxLength: 20 })),
    /** Timeout of each call to the charger. */
    timeout_ms: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000 }),
  },
  { additionalProperties: false },
);
export type OcppConfig = Static<typeof OcppConfigSchema>;
