/**
 * Control: the quarter hour's budget as a live bar (from each pushed snapshot's `control` field),
 * each charger's mode, set-point, power, session energy and deadline, the battery, the edge's last
 * decisions with their reasons, and (for a token with scope write) a mode change per charger
 * (PUT /api/v1/control, then the edge's acknowledgement, polled from GET). docs/control.md.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { apiGet, apiPut } from '../api.js';
import { ErrorBox, Loading, Stat } from '../components/status.js';
import { type I18n, type MessageKey, useI18n } from '../i18n/index.js';
import { useSession } from '../session.js';
import type { ControlAnswer, ControlChange, ControlDecisionOut, Snapshot } from '../types.js';
import { useFeed } from './live.js';

const MODES = ['off', 'solar', 'min_solar', 'max_under_peak', 'deadline'] as const;
type Mode = (typeof MODES)[number];
/** How often the settings and the edge's acknowledgement are asked again. */
const REFRESH_MS = 5000;

type Budget = NonNullable<Snapshot['control']>;

function useControl(): { answer: ControlAnswer | null; error: Error | null; reload: () => void } {
  const session = useSession();
  const [answer, setAnswer] = useState<ControlAnswer | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    apiGet<ControlAnswer>(session.token, `control/${encodeURIComponent(session.device)}`, {}, ctl.signal)
      .then((a) => {
        setAnswer(a);
        setError(null);
      })
      .catch((err: Error) => {
        if (!ctl.signal.aborted) setError(err);
      });
    const t = setTimeout(() => setTick((n) => n + 1), REFRESH_MS);
    return () => {
      ctl.abort();
      clearTimeout(t);
    };
  }, [session.token, session.device, tick]);
  return { answer, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

function BudgetBar({ budget }: { budget: Budget }) {
  const i = useI18n();
  const { t } = i;
  const share = budget.used_kwh === null ? null : Math.min(1, budget.used_kwh / Math.max(budget.budget_kwh, 1e-9));
  const over = budget.allowed_w !== null && budget.allowed_w < 0;
  return (
    <div class="card control-budget" data-testid="control-budget">
      <h2>{t('control.budget')}</h2>
      <p class={`badge badge-${budget.status === 'ok' ? 'ok' : 'stale'}`} data-testid="control-status">
        {t(`control.status.${budget.status}` as MessageKey)}
      </p>
      <meter
        class={`budget-bar${over ? ' is-over' : ''}`}
        min={0}
        max={1}
        high={0.9}
        optimum={0}
        value={share ?? 0}
        aria-label={t('control.budget')}
        data-testid="control-bar"
      />
      <p data-testid="control-used">
        {t('control.used', { used: i.energy(budget.used_kwh), budget: i.energy(budget.budget_kwh) })} ·{' '}
        {t('control.remaining', { time: i.duration(budget.remaining_s) })}
      </p>
      <dl class="stats">
        <Stat label={t('control.allowed')} value={i.power(budget.allowed_w)} testId="control-allowed" />
        <Stat
          label={t('control.target')}
          value={i.power(budget.target_w)}
          sub={t(`control.targetSource.${budget.target_source}` as MessageKey)}
          testId="control-target"
        />
      </dl>
      {budget.dry_run && <p class="badge badge-stale">{t('control.dryRun')}</p>}
    </div>
  );
}

/** A deadline as its value ("25.0 kWh by 07:00") and, under it, how it stands (delivered, or not feasible). */
function deadlineStat(
  i: I18n,
  settings: { energy_kwh: number | null; deadline: string | null },
  last?: ControlDecisionOut,
): { value: string; sub?: string } {
  if (settings.energy_kwh === null || settings.deadline === null) return { value: '—' };
  const value = i.t('control.deadlineValue', { energy: i.energy(settings.energy_kwh), time: settings.deadline });
  const d = last?.deadline;
  if (!d) return { value };
  return {
    value,
    sub: d.feasible
      ? i.t('control.deadlineDelivered', { delivered: i.energy(d.delivered_kwh) })
      : i.t('control.deadlineInfeasible', { possible: i.energy(d.possible_kwh) }),
  };
}

function ModeForm({ name, mode, onApply }: { name: string; mode: Mode; onApply: (c: ControlChange) => Promise<void> }) {
  const { t } = useI18n();
  const [want, setWant] = useState<Mode>(mode);
  const [energy, setEnergy] = useState('20');
  const [by, setBy] = useState('07:00');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    const one = want === 'deadline' ? { mode: want, energy_kwh: Number(energy), deadline: by } : { mode: want };
    await onApply({ chargers: { [name]: one } }).finally(() => setBusy(false));
  };
  return (
    <form class="mode-form" onSubmit={submit} data-testid={`mode-form-${name}`}>
      <label>
        {t('control.mode')}
        <select value={want} onChange={(e) => setWant(e.currentTarget.value as Mode)} data-testid={`mode-${name}`}>
          {MODES.map((m) => (
            <option key={m} value={m}>
              {t(`control.mode.${m}` as MessageKey)}
            </option>
          ))}
        </select>
      </label>
      {want === 'deadline' && (
        <>
          <label>
            {t('control.energy')}
            <input
              type="number"
              min="0.1"
              step="0.1"
              value={energy}
              onInput={(e) => setEnergy(e.currentTarget.value)}
              data-testid={`energy-${name}`}
            />
          </label>
          <label>
            {t('control.by')}
            <input type="time" value={by} onInput={(e) => setBy(e.currentTarget.value)} data-testid={`by-${name}`} />
          </label>
        </>
      )}
      <button type="submit" disabled={busy} data-testid={`apply-${name}`}>
        {t('control.apply')}
      </button>
    </form>
  );
}

function lastOf(answer: ControlAnswer, device: string): ControlDecisionOut | undefined {
  return answer.decisions.filter((d) => d.device === device).at(-1);
}

function Charger(props: {
  name: string;
  answer: ControlAnswer;
  snap: Snapshot | null;
  onApply: (c: ControlChange) => Promise<void>;
}) {
  const i = useI18n();
  const { t } = i;
  const { name, answer, snap } = props;
  const settings = answer.applied?.settings.chargers[name];
  const sp = (snap?.control ?? answer.budget)?.chargers[name];
  const fields = snap?.devices?.[name]?.fields ?? {};
  const num = (k: string) => (typeof fields[k] === 'number' ? (fields[k] as number) : null);
  const last = lastOf(answer, name);
  return (
    <div class="card control-charger" data-testid={`charger-${name}`}>
      <h3>{name}</h3>
      <dl class="stats">
        <Stat
          label={t('control.mode')}
          value={settings ? t(`control.mode.${settings.mode}` as MessageKey) : '—'}
          testId={`charger-mode-${name}`}
        />
        <Stat
          label={t('control.setpoint')}
          value={
            !sp
              ? '—'
              : sp.charge
                ? t('control.setpointValue', { current: sp.current_a, phases: sp.phases })
                : t('control.paused')
          }
          testId={`charger-setpoint-${name}`}
        />
        <Stat
          label={t('control.power')}
          value={i.power(num('ev_power_w'))}
          tone="load"
          testId={`charger-power-${name}`}
        />
        <Stat label={t('control.session')} value={i.energy(num('ev_session_kwh'))} testId={`charger-session-${name}`} />
        <Stat
          label={t('control.deadline')}
          {...(settings ? deadlineStat(i, settings, last) : { value: '—' })}
          testId={`charger-deadline-${name}`}
        />
      </dl>
      {last && (
        <p class="reason" data-testid={`charger-reason-${name}`}>
          {t('control.reason')}: {last.reason}
        </p>
      )}
      {answer.can_write && settings && <ModeForm name={name} mode={settings.mode} onApply={props.onApply} />}
    </div>
  );
}

function SyncLine({ answer }: { answer: ControlAnswer }) {
  const { t } = useI18n();
  const rev = answer.wanted?.revision ?? 0;
  const reason = answer.applied?.rejected?.reason ?? '';
  return (
    <p class={`sync sync-${answer.sync}`} role="status" data-testid="control-sync">
      {t(`control.sync.${answer.sync}` as MessageKey, { rev, reason })}
    </p>
  );
}

export function ControlPage() {
  const i = useI18n();
  const { t } = i;
  const session = useSession();
  const feed = useFeed();
  const { answer, error, reload } = useControl();
  const [putError, setPutError] = useState<Error | null>(null);
  const apply = async (change: ControlChange) => {
    try {
      await apiPut(session.token, `control/${encodeURIComponent(session.device)}`, change);
      setPutError(null);
    } catch (err) {
      setPutError(err as Error);
    }
    reload();
  };
  const budget = feed.snapshot?.control ?? answer?.budget ?? null;
  const batteries = Object.entries(answer?.applied?.settings.batteries ?? {});
  return (
    <section class="page page-control" aria-labelledby="control-h">
      <div class="page-head">
        <h1 id="control-h">{t('control.title')}</h1>
      </div>
      <p class="intro">{t('control.intro')}</p>
      {error && !answer && <ErrorBox error={error} retry={reload} />}
      {!answer && !error && <Loading />}
      {answer && !answer.applied && !budget && <p data-testid="control-none">{t('control.none')}</p>}
      {answer && <SyncLine answer={answer} />}
      {putError && <ErrorBox error={putError} />}
      {answer && !answer.can_write && answer.applied && <p class="hint">{t('control.readOnly')}</p>}
      {budget ? <BudgetBar budget={budget} /> : answer?.applied && <p>{t('control.noBudget')}</p>}
      {answer?.applied && (
        <>
          <h2>{t('control.chargers')}</h2>
          <div class="control-grid">
            {Object.keys(answer.applied.settings.chargers).map((name) => (
              <Charger key={name} name={name} answer={answer} snap={feed.snapshot} onApply={apply} />
            ))}
          </div>
        </>
      )}
      {answer && batteries.length > 0 && (
        <div class="control-grid">
          {batteries.map(([name, b]) => (
            <div key={name} class="card" data-testid={`battery-${name}`}>
              <h3>
                {t('control.battery')}: {name}
              </h3>
              <dl class="stats">
                <Stat label={t('control.power')} value={i.power(feed.snapshot?.battery_power_w)} tone="battery" />
                <Stat label={t('live.soc')} value={i.pct(feed.snapshot?.battery_soc_pct)} tone="battery" />
                <Stat label={t('control.reserve')} value={i.pct(b.reserve_soc_pct)} />
              </dl>
              {lastOf(answer, name) && (
                <p class="reason">
                  {t('control.reason')}: {lastOf(answer, name)?.reason}
                </p>
              )}
            </div>
          ))}
        </div>
      )}
      {answer && answer.decisions.length > 0 && (
        <div class="card">
          <h2>{t('control.decisions')}</h2>
          <ol class="decisions" data-testid="control-decisions">
            {[...answer.decisions].reverse().map((d) => (
              <li key={`${d.at}-${d.device}`}>
                <time dateTime={d.at}>{i.time(d.at)}</time> <strong>{d.device}</strong>: {d.reason}
              </li>
            ))}
          </ol>
        </div>
      )}
    </section>
  );
}
