/**
 * The public API's answers as the dashboard reads them (docs/api.md): the types of the schemas the
 * server answers with (src/core/api), imported as types only, so no schema code enters the bundle.
 */
import type {
  BreakdownLineAnswer,
  BucketHistoryAnswer,
  BucketPoint,
  CapacityAlertPush,
  CapacityAnswer,
  ControlAnswer,
  ControlChange,
  ControlDecisionOut,
  ControlPutAnswer,
  CostEstimateAnswer,
  DayPricePoint,
  DayPricesAnswer,
  DeviceListAnswer,
  RealtimeAnswer,
  SnapshotAnswer,
  WsTicketAnswer,
} from '../../src/core/api/index.js';

/** GET and PUT /api/v1/control/{device_id}: the settings wanted and applied, the budget, the decisions. */
export type {
  CapacityAnswer,
  ControlAnswer,
  ControlChange,
  ControlDecisionOut,
  ControlPutAnswer,
  DeviceListAnswer,
  RealtimeAnswer,
  WsTicketAnswer,
};

/** A snapshot as the API answers it (times in local time). */
export type Snapshot = SnapshotAnswer;

/** GET /api/v1/history/{device_id} at a rollup resolution: the dashboard never asks for raw. */
export type HistoryAnswer = BucketHistoryAnswer;
export type HistoryPoint = BucketPoint;

/** GET /api/v1/cost-estimate/{device_id} and its bill-like lines. */
export type CostAnswer = CostEstimateAnswer;
export type CostLine = BreakdownLineAnswer;

/** Which network rule applies to the home (capacity tariff, time of use, connection term, none). */
export type NetworkRule = NonNullable<CapacityAnswer['network_rule']>;

/** GET /api/v1/prices/{device_id}?date=: the day's prices per quarter-hour (null: not known). */
export type { DayPricePoint, DayPricesAnswer };

/** A capacity-tariff alert pushed on the WebSocket: the running quarter will set a new monthly peak. */
export type CapacityAlert = CapacityAlertPush;
