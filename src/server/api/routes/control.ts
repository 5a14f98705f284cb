/**
 * GET and PUT /api/v1/control/{device_id} (docs/control.md "From the server", docs/api.md): a home's
 * control as the server wants it and as its edge applies it.
 *
 * - GET (any token holding the home): the wanted settings (stored, with their revision), what the
 *   edge acknowledged last (its retained `control_state`, kept in memory by ControlStates), whether
 *   the two agree, the running quarter's budget from the newest snapshot's `control` field, and the
 *   edge's last decisions with their reasons.
 * - PUT (a token with scope `write`, else 403): a change of the wanted settings, checked key by key
 *   (400 naming the key), merged into the stored ones under the next revision and published to the
 *   edge on its `control` topic through the ingester's connection (the one client the brokers let
 *   write there). 202: the edge applies it when it reads it and says so on `control_state`.
 * Changes of one home are made one after the other (the merge reads the stored settings).
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import {
  type ControlAnswer,
  type ControlChange,
  ControlChangeSchema,
  type ControlDecisionOut,
  controlChangeErrors,
} from '../../../core/api/control.js';
import { checkWant, mergeWant } from '../../../core/control/remote.js';
import type { Snapshot } from '../../../core/snapshot.js';
import { validationErrors } from '../../../core/validate.js';
import type { ControlMessage, ControlStateMessage } from '../../../core/wire-control.js';
import type { Store, StoredControl } from '../../store/types.js';
import type { ControlStates } from '../control-states.js';
import { deviceErrors, ErrorRef } from '../errors.js';
import { DeviceParams } from '../schemas.js';
import type { ZoneClock } from '../time.js';
import { HttpError, withDeadline } from '../util.js';

/** Publishes a home's control settings to its edge; false when the server is not connected. */
export type ControlPublisher = (deviceId: string, message: ControlMessage) => Promise<boolean>;

export interface ControlRouteDeps {
  store: Store;
  clock: ZoneClock;
  timeoutMs: number;
  states: ControlStates;
  /** Null: no MQTT connection in this API (tests of the API alone); PUT then stores only. */
  publish: ControlPublisher | null;
}

/** The wire message of stored settings. */
export function controlMessage(c: StoredControl): ControlMessage {
  return { revision: c.revision, issued_at: c.updatedAt.toISOString(), settings: c.settings };
}

function syncOf(wanted: StoredControl | null, state: ControlStateMessage | null): ControlAnswer['sync'] {
  if (!wanted) return 'none';
  if (state?.revision === wanted.revision) return 'applied';
  if (state?.rejected?.revision === wanted.revision) return 'rejected';
  return 'pending';
}

function presentDecisions(state: ControlStateMessage | null, clock: ZoneClock): ControlDecisionOut[] {
  return (state?.decisions ?? []).map((d) => ({
    ...d,
    at: clock.iso(Date.parse(d.at)),
    deadline: d.deadline ? { ...d.deadline, by: clock.iso(Date.parse(d.deadline.by)) } : null,
  }));
}

/** The GET answer: the settings wanted (stored) and applied (the edge's state), the budget, the decisions. */
function controlAnswer(
  id: string,
  canWrite: boolean,
  wanted: StoredControl | null,
  latest: Snapshot | null,
  state: ControlStateMessage | null,
  clock: ZoneClock,
): ControlAnswer {
  const budget = latest?.control ?? null;
  return {
    device_id: id,
    can_write: canWrite,
    wanted: wanted && {
      revision: wanted.revision,
      settings: wanted.settings,
      updated_at: clock.iso(wanted.updatedAt.getTime()),
      updated_by: wanted.updatedBy,
    },
    applied: state && {
      revision: state.revision,
      rejected: state.rejected,
      settings: state.settings,
      timestamp: clock.iso(Date.parse(state.timestamp)),
    },
    sync: syncOf(wanted, state),
    budget:
      budget && latest
        ? {
            ...budget,
            quarter_start: clock.iso(Date.parse(budget.quarter_start)),
            timestamp: clock.iso(Date.parse(latest.timestamp)),
          }
        : null,
    decisions: presentDecisions(state, clock),
  };
}

export const controlRoutes: FastifyPluginAsync<ControlRouteDeps> = async (app, d) => {
  const { store, clock, timeoutMs, states } = d;
  /** Per home, the change being made: the next one waits for it. */
  const queue = new Map<string, Promise<unknown>>();

  app.get<{ Params: { device_id: string } }>(
    '/api/v1/control/:device_id',
    {
      config: { auth: 'device' },
      schema: {
        summary: "A home's control: the settings wanted and applied, the quarter's budget, the last decisions",
        tags: ['control'],
        params: DeviceParams,
        response: { 200: Type.Ref('Control'), ...deviceErrors },
      },
    },
    async (req): Promise<ControlAnswer> => {
      const id = req.params.device_id;
      const [wanted, latest] = await Promise.all([
        withDeadline(store.controlWanted(id), timeoutMs, 'store.controlWanted'),
        withDeadline(store.latest(id), timeoutMs, 'store.latest'),
      ]);
      return controlAnswer(id, req.grant?.write ?? false, wanted, latest, states.get(id), clock);
    },
  );

  app.put<{ Params: { device_id: string }; Body: unknown }>(
    '/api/v1/control/:device_id',
    {
      config: { auth: 'device_write' },
      // Checked by TypeBox (core/validate.ts) rather than Fastify's Ajv, which drops unknown keys
      // and coerces types: a wrong key is refused with its path (`chargers.car.mode: …`).
      validatorCompiler:
        ({ schema, httpPart }) =>
        (data: unknown) => {
          const errors = httpPart === 'body' ? controlChangeErrors(data) : validationErrors(schema as TSchema, data);
          return errors.length > 0 ? { error: new Error(errors[0]) } : { value: data };
        },
      schema: {
        summary: "Change a home's control settings (a token with scope write)",
        tags: ['control'],
        params: DeviceParams,
        body: ControlChangeSchema,
        response: { 202: Type.Ref('ControlAccepted'), ...deviceErrors, 403: ErrorRef },
      },
    },
    async (req, reply) => {
      const id = req.params.device_id;
      const change = req.body as ControlChange;
      const run = async () => {
        const stored = await withDeadline(store.controlWanted(id), timeoutMs, 'store.controlWanted');
        const want = mergeWant(stored?.settings ?? {}, change);
        const problem = checkWant(want) ?? chargerProblem(want, states.get(id));
        if (problem) throw new HttpError(400, 'bad_request', problem);
        return withDeadline(store.putControlWanted(id, want, req.grant?.name ?? '?'), timeoutMs, 'store.putControl');
      };
      const before = queue.get(id) ?? Promise.resolve();
      const mine = before.catch(() => undefined).then(run);
      queue.set(id, mine);
      let saved: StoredControl;
      try {
        saved = await mine;
      } finally {
        if (queue.get(id) === mine) queue.delete(id);
      }
      const published = d.publish ? await d.publish(id, controlMessage(saved)) : false;
      req.log.info(
        { device_id: id, revision: saved.revision, by: saved.updatedBy, published },
        'control settings changed',
      );
      return reply.code(202).send({ device_id: id, revision: saved.revision, settings: saved.settings, published });
    },
  );
};

/** A charger the edge does not have (when the edge has said which it has), naming the key. */
function chargerProblem(
  want: { chargers?: Record<string, unknown> },
  state: ControlStateMessage | null,
): string | null {
  if (!state) return null;
  const known = Object.keys(state.settings.chargers);
  for (const name of Object.keys(want.chargers ?? {}))
    if (!known.includes(name))
      return `chargers.${name}: the edge has no charger named ${name} (${known.join(', ') || 'none'})`;
  return null;
}
