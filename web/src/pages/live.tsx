/**
 * Live: the power flow and the headline numbers, pushed over the WebSocket once a second. An
 * off-grid home (site.ts) sees PV → battery → home with the battery's voltage and charge state, and
 * no grid numbers.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { QUARTER_MS } from '../../../src/core/time/quarter.js';
import { chargeStateText, PowerFlow, voltsText } from '../components/power-flow.js';
import { ErrorBox, Stat } from '../components/status.js';
import { STALE_AFTER_S } from '../config.js';
import { useI18n } from '../i18n/index.js';
import { type FeedState, RealtimeFeed } from '../realtime.js';
import { useSession } from '../session.js';
import { isOffGrid } from '../site.js';
import type { Snapshot } from '../types.js';

/** The live feed of the signed-in home (the Control page reads it too). */
export function useFeed(): FeedState {
  const session = useSession();
  const [state, setState] = useState<FeedState>({
    snapshot: null,
    clockOffsetMs: 0,
    mode: 'connecting',
    error: null,
    alert: null,
  });
  useEffect(() => {
    const feed = new RealtimeFeed(session.device, session.token, setState);
    feed.start();
    return () => feed.stop();
  }, [session.device, session.token]);
  useEffect(() => {
    if (state.error?.kind === 'unauthorized') session.unauthorized();
  }, [state.error, session]);
  return state;
}

export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** The charging session's energy (kWh) of the first charger in the site's devices that reports one. */
function sessionKwh(s: Snapshot | null): number | null {
  for (const d of Object.values(s?.devices ?? {})) {
    const v = d.fields.ev_session_kwh;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/**
 * Whether the home shows as off-grid: its snapshots say so (site.ts) and none seen on this page
 * had a grid value, so a meter that drops out for a moment does not switch the view.
 */
function useOffGrid(s: Snapshot | null): boolean {
  const seenGrid = useRef(new Set<string>());
  if (s && s.grid_power_w !== null && s.grid_power_w !== undefined) seenGrid.current.add(s.device_id);
  return s !== null && !seenGrid.current.has(s.device_id) && isOffGrid(s);
}

export function LivePage() {
  const i = useI18n();
  const { t } = i;
  const feed = useFeed();
  const now = useNow();
  const s = feed.snapshot;
  const age = s ? Math.max(0, (now - feed.clockOffsetMs - Date.parse(s.timestamp)) / 1000) : null;
  const old = age !== null && age > STALE_AFTER_S;
  const staleSources = new Set(s?.stale_sources ?? []);
  const grid = s?.grid_power_w ?? null;
  const offGrid = useOffGrid(s);
  const session = sessionKwh(s);

  return (
    <section class="page page-live" aria-labelledby="live-h">
      <div class="page-head">
        <h1 id="live-h">{t('live.title')}</h1>
        <p class={`conn conn-${feed.mode}`} data-testid="conn">
          <span class="sr-only">{t('live.conn.label')}: </span>
          <span class="dot" aria-hidden="true" />
          {t(`live.conn.${feed.mode}`)}
        </p>
      </div>
      {feed.error && !s && <ErrorBox error={feed.error} />}
      {feed.alert && now - Date.parse(feed.alert.quarter_start) < QUARTER_MS && (
        <p class="alert alert-danger" role="alert" data-testid="capacity-alert">
          {t('live.capacityAlert', { projected: i.power(feed.alert.projected_w), limit: i.power(feed.alert.limit_w) })}
        </p>
      )}
      <div class="live-grid">
        <div class="card flow-card">
          <PowerFlow snapshot={s} offGrid={offGrid} />
          {offGrid && (
            <p class="badge badge-off-grid" data-testid="live-off-grid">
              {t('live.offGrid')}
            </p>
          )}
          <div class={`freshness${old ? ' is-old' : ''}`} data-testid="freshness">
            <p data-testid="age">
              {s && age !== null ? t('live.lastReading', { age: i.ago(age) }) : t('live.noReading')}
            </p>
            {old && age !== null && (
              <p class="badge badge-stale" role="status">
                {t('live.stale')}: {t('live.dataOld', { age: i.duration(age) })}
              </p>
            )}
            {s && staleSources.size > 0 ? (
              <ul class="stale-list" aria-label={t('live.staleSources', { sources: [...staleSources].join(', ') })}>
                {[...staleSources].map((src) => (
                  <li key={src} class="badge badge-stale" data-testid="stale-source">
                    {src}: {t('live.stale')}
                  </li>
                ))}
              </ul>
            ) : (
              s && !old && <p class="badge badge-ok">{t('live.allFresh')}</p>
            )}
          </div>
        </div>
        <dl class="stats card" data-testid="live-stats">
          {!offGrid && (
            <Stat
              label={grid !== null && grid < 0 ? t('live.gridExport') : t('live.gridImport')}
              value={i.power(grid === null ? null : Math.abs(grid))}
              tone={grid === null ? undefined : grid < 0 ? 'export' : 'import'}
              testId="live-grid"
            />
          )}
          <Stat label={t('live.solar')} value={i.power(s?.pv_power_w)} tone="pv" testId="live-pv" />
          <Stat
            label={t('live.battery')}
            value={i.power(
              s?.battery_power_w === null || s?.battery_power_w === undefined ? null : Math.abs(s.battery_power_w),
            )}
            sub={
              s?.battery_power_w !== null && s?.battery_power_w !== undefined
                ? Math.abs(s.battery_power_w) < 10
                  ? t('flow.idle')
                  : s.battery_power_w > 0
                    ? t('flow.charging')
                    : t('flow.discharging')
                : undefined
            }
            tone="battery"
            testId="live-battery"
          />
          <Stat label={t('live.soc')} value={i.pct(s?.battery_soc_pct)} tone="battery" testId="live-soc" />
          {offGrid && (
            <Stat
              label={t('live.batteryVoltage')}
              value={voltsText(i, s?.battery_voltage_v)}
              tone="battery"
              testId="live-battery-voltage"
            />
          )}
          {offGrid && (
            <Stat
              label={t('live.chargeState')}
              value={chargeStateText(i, s?.charge_state)}
              tone="battery"
              testId="live-charge-state"
            />
          )}
          <Stat label={t('live.home')} value={i.power(s?.load_power_w)} tone="load" testId="live-load" />
          {typeof s?.ev_power_w === 'number' && (
            <Stat
              label={t('live.car')}
              value={i.power(s.ev_power_w)}
              sub={[
                s.ev_power_w < 10 ? t('flow.notCharging') : t('flow.charging'),
                ...(session === null ? [] : [t('live.carSession', { energy: i.energy(session) })]),
              ].join(' · ')}
              tone="car"
              testId="live-car"
            />
          )}
          {!offGrid && (
            <Stat label={t('live.selfSufficiency')} value={i.pct(s?.self_sufficiency_pct)} testId="live-self" />
          )}
          {!offGrid && <Stat label={t('live.avg15m')} value={i.power(s?.grid_avg_15m_w)} testId="live-avg15" />}
          {!offGrid && (
            <Stat label={t('live.monthlyPeak')} value={i.power(s?.grid_monthly_peak_w)} testId="live-peak" />
          )}
        </dl>
      </div>
    </section>
  );
}
