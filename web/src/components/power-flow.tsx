/**
 * The power-flow diagram: solar, grid, battery and home around a hub, each link drawn in the
 * direction the power flows (moving dashes and an arrow head), with its watts. Its <title> and <desc>
 * say the same in words. An off-grid home has no grid node: PV, battery and home, with the
 * battery's voltage and charge state beside it. A home with an EV charger (`ev_power_w` not null) has
 * a car node fed from the home node: the car's draw is part of the home's consumption.
 */
import { useId } from 'preact/hooks';
import { type I18n, useI18n } from '../i18n/index.js';
import { chargeStateKey } from '../off-grid.js';
import type { Snapshot } from '../types.js';

/** Below this (W) a link is shown idle. */
const IDLE_W = 10;

type Dir = 'in' | 'out' | 'idle' | 'unknown';

interface Link {
  /** Path from the node to the hub. */
  d: string;
  /** 'in' = towards the hub (node supplies power), 'out' = from the hub to the node. */
  dir: Dir;
  watts: number | null;
  cls: string;
}

function dirOf(w: number | null, positiveIsIn: boolean): Dir {
  if (w === null) return 'unknown';
  if (Math.abs(w) < IDLE_W) return 'idle';
  return w > 0 === positiveIsIn ? 'in' : 'out';
}

/** Dash animation duration: faster for more power (0.6 s at 8 kW, 3 s at 50 W). */
function duration(w: number | null): string {
  const a = Math.abs(w ?? 0);
  const s = Math.max(0.6, Math.min(3, 3 - Math.log10(Math.max(1, a / 50)) * 1.1));
  return `${s.toFixed(2)}s`;
}

const HUB = { x: 170, y: 160 };
const NODES = {
  pv: { x: 170, y: 50 },
  grid: { x: 56, y: 160 },
  home: { x: 284, y: 160 },
  battery: { x: 170, y: 270 },
  car: { x: 370, y: 255 },
};
const R = 40;

/** The car's link: from its circle's edge to the home's, along the line between their centres. */
const CAR_LINK = (() => {
  const { home, car } = NODES;
  const len = Math.hypot(car.x - home.x, car.y - home.y);
  const ux = (car.x - home.x) / len;
  const uy = (car.y - home.y) / len;
  const f = (n: number) => n.toFixed(1);
  return `M${f(car.x - R * ux)} ${f(car.y - R * uy)} L${f(home.x + R * ux)} ${f(home.y + R * uy)}`;
})();

/** The battery's voltage ("50.6 V"), or the none mark. */
export function voltsText(i: I18n, v: number | null | undefined): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${i.num(v, 1)}\u00a0V` : i.num(null);
}

/** A charge state in words: translated when known, as the device names it otherwise, or the none mark. */
export function chargeStateText(i: I18n, name: string | null | undefined): string {
  if (!name) return i.num(null);
  const key = chargeStateKey(name);
  return key ? i.t(`charge.${key}`) : name;
}

export function PowerFlow({ snapshot, offGrid = false }: { snapshot: Snapshot | null; offGrid?: boolean }) {
  const i = useI18n();
  const { t } = i;
  const id = useId();
  const pv = snapshot?.pv_power_w ?? null;
  const grid = snapshot?.grid_power_w ?? null;
  const battery = snapshot?.battery_power_w ?? null;
  const load = snapshot?.load_power_w ?? null;
  const soc = snapshot?.battery_soc_pct ?? null;
  const ev = snapshot?.ev_power_w;
  const hasCar = typeof ev === 'number';
  const car = hasCar ? ev : null;
  const volts = voltsText(i, snapshot?.battery_voltage_v);
  const chargeState = chargeStateText(i, snapshot?.charge_state);

  const links: Record<'pv' | 'grid' | 'home' | 'battery' | 'car', Link> = {
    pv: { d: `M${NODES.pv.x} ${NODES.pv.y + R} L${HUB.x} ${HUB.y - 8}`, dir: dirOf(pv, true), watts: pv, cls: 'pv' },
    grid: {
      d: `M${NODES.grid.x + R} ${NODES.grid.y} L${HUB.x - 8} ${HUB.y}`,
      dir: dirOf(grid, true),
      watts: grid,
      cls: 'grid',
    },
    home: {
      d: `M${NODES.home.x - R} ${NODES.home.y} L${HUB.x + 8} ${HUB.y}`,
      dir: dirOf(load, false),
      watts: load,
      cls: 'load',
    },
    battery: {
      d: `M${NODES.battery.x} ${NODES.battery.y - R} L${HUB.x} ${HUB.y + 8}`,
      dir: dirOf(battery, false),
      watts: battery,
      cls: 'battery',
    },
    car: { d: CAR_LINK, dir: dirOf(car, false), watts: car, cls: 'car' },
  };
  if (links.pv.dir === 'out') links.pv.dir = 'idle'; // an inverter's own draw at night is not a flow
  if (links.car.dir === 'in') links.car.dir = 'idle'; // a charger does not feed the home
  const shown = Object.entries(links).filter(([k]) => !(offGrid && k === 'grid') && !(k === 'car' && !hasCar));

  const state = {
    pv: pv === null ? t('flow.unknown') : Math.abs(pv) < IDLE_W ? t('flow.idle') : t('flow.producing'),
    grid:
      grid === null
        ? t('flow.unknown')
        : Math.abs(grid) < IDLE_W
          ? t('flow.idle')
          : grid > 0
            ? t('flow.importing')
            : t('flow.exporting'),
    battery:
      battery === null
        ? t('flow.unknown')
        : Math.abs(battery) < IDLE_W
          ? t('flow.idle')
          : battery > 0
            ? t('flow.charging')
            : t('flow.discharging'),
    home: load === null ? t('flow.unknown') : t('flow.using'),
    car: car === null ? t('flow.unknown') : car < IDLE_W ? t('flow.notCharging') : t('flow.charging'),
  };
  const abs = (w: number | null) => (w === null ? null : Math.abs(w));
  const parts = {
    pv: t('flow.part', { state: state.pv, power: i.power(abs(pv)) }),
    battery: t('flow.part', { state: state.battery, power: i.power(abs(battery)) }),
    soc: i.pct(soc),
    load: t('flow.part', { state: state.home, power: i.power(abs(load)) }),
  };
  const carDesc = hasCar
    ? ` ${t('flow.descCar', { car: t('flow.part', { state: state.car, power: i.power(car) }) })}`
    : '';
  const desc =
    (offGrid
      ? t('flow.descOffGrid', { ...parts, voltage: volts, chargeState })
      : t('flow.desc', { ...parts, grid: t('flow.part', { state: state.grid, power: i.power(abs(grid)) }) })) + carDesc;

  const socClip = soc === null ? 0 : Math.max(0, Math.min(100, soc));
  const fillTop = NODES.battery.y + R - (2 * R * socClip) / 100;

  const node = (
    key: keyof typeof NODES,
    label: string,
    watts: number | null,
    stateText: string,
    extra?: preact.ComponentChildren,
  ) => {
    const n = NODES[key];
    const unknown = watts === null;
    // the state goes beside the circles on the vertical axis, under the others
    const side = key === 'pv' || key === 'battery';
    return (
      <g class={`node node-${key}${unknown ? ' is-unknown' : ''}`} data-node={key}>
        <circle cx={n.x} cy={n.y} r={R} class="node-ring" />
        {extra}
        <text x={n.x} y={n.y - 13} class="node-label" text-anchor="middle">
          {label}
        </text>
        <text x={n.x} y={n.y + 6} class="node-watts" text-anchor="middle" data-testid={`flow-${key}`}>
          {i.power(abs(watts))}
        </text>
        <text
          x={side ? n.x + R + 8 : n.x}
          y={side ? n.y + 4 : n.y + R + 16}
          class="node-state"
          text-anchor={side ? 'start' : 'middle'}
        >
          {stateText}
        </text>
      </g>
    );
  };

  return (
    <svg
      class="power-flow"
      viewBox={hasCar ? '0 0 420 320' : '0 0 340 320'}
      role="img"
      aria-labelledby={`${id}-t ${id}-d`}
      data-testid="power-flow"
    >
      <title id={`${id}-t`}>{t('flow.title')}</title>
      <desc id={`${id}-d`}>{desc}</desc>
      <defs>
        {(['pv', 'grid', 'load', 'battery', 'car'] as const).map((c) => (
          <marker
            key={c}
            id={`${id}-arrow-${c}`}
            viewBox="0 0 10 10"
            refX="8"
            refY="5"
            markerWidth="4"
            markerHeight="4"
            orient="auto-start-reverse"
          >
            <path d="M0 0 L10 5 L0 10 z" class={`arrow arrow-${c}`} />
          </marker>
        ))}
        <clipPath id={`${id}-soc`}>
          <rect x={NODES.battery.x - R} y={fillTop} width={2 * R} height={NODES.battery.y + R - fillTop} />
        </clipPath>
      </defs>
      {shown.map(([k, l]) => {
        const moving = l.dir === 'in' || l.dir === 'out';
        return (
          <path
            key={k}
            d={l.d}
            class={`link link-${l.cls} dir-${l.dir}`}
            style={moving ? { animationDuration: duration(l.watts) } : undefined}
            marker-end={l.dir === 'in' ? `url(#${id}-arrow-${l.cls})` : undefined}
            marker-start={l.dir === 'out' ? `url(#${id}-arrow-${l.cls})` : undefined}
            data-dir={l.dir}
            data-link={k}
          />
        );
      })}
      <circle cx={HUB.x} cy={HUB.y} r={7} class="hub" />
      {node('pv', t('flow.pv'), pv, state.pv)}
      {!offGrid && node('grid', t('flow.grid'), grid, state.grid)}
      {node('home', t('flow.home'), load, state.home)}
      {node(
        'battery',
        t('flow.battery'),
        battery,
        state.battery,
        <g clip-path={`url(#${id}-soc)`}>
          <circle cx={NODES.battery.x} cy={NODES.battery.y} r={R - 3} class="soc-fill" />
        </g>,
      )}
      {hasCar && node('car', t('flow.car'), car, state.car)}
      <text x={NODES.battery.x} y={NODES.battery.y + 24} class="node-soc" text-anchor="middle" data-testid="flow-soc">
        {i.pct(soc)}
      </text>
      {offGrid && (
        <g class="node-battery-dc">
          <text x={NODES.battery.x + R + 8} y={NODES.battery.y + 20} class="node-state" data-testid="flow-voltage">
            {volts}
          </text>
          <text x={NODES.battery.x + R + 8} y={NODES.battery.y + 36} class="node-state" data-testid="flow-charge-state">
            {chargeState}
          </text>
        </g>
      )}
    </svg>
  );
}
