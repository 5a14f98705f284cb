/** The simulated home's local calendar time (home-model.ts). */
import { ZoneOffsets } from '../../core/time/index.js';

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number; // 1 = Monday … 7 = Sunday
  /** Offset from UTC in minutes. */
  offsetMin: number;
}

/** Local calendar time in a zone: the model asks every simulated second, so offsets are memoised. */
export class LocalClock {
  private readonly offsets: ZoneOffsets;

  constructor(timeZone: string) {
    this.offsets = new ZoneOffsets(timeZone, 10_000);
  }

  local(ms: number): LocalTime {
    const offsetMin = this.offsets.at(ms);
    const d = new Date(ms + offsetMin * 60_000);
    const wd = d.getUTCDay();
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      weekday: wd === 0 ? 7 : wd,
      offsetMin,
    };
  }
}
