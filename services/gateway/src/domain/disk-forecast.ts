/** How a volume's free space trends, fitted by PostgreSQL over recent samples. */
export interface DiskTrend {
  samples: number;
  firstAt: number;
  lastAt: number;
  /** Free bytes per millisecond (negative while the disk fills). */
  slope: number | null;
}

/** When a volume is expected to be full, as the API shows it. */
export interface DiskForecast {
  /** Negative while free space shrinks. */
  freeBytesPerHour: number;
  /** ISO time the volume would be full at the current rate; null when it is not filling. */
  fullAt: string | null;
  samples: number;
  /** The span of the fitted samples. */
  spanMs: number;
}

/** The least samples, and the least time they span, before a trend is shown (the monitor's defaults). */
export const FORECAST_MIN_SAMPLES = 4;
export const FORECAST_MIN_SPAN_MS = 30 * 60_000;
/** Samples this recent are fitted (the monitor's default window). */
export const FORECAST_WINDOW_MS = 6 * 3_600_000;

const MAX_DATE_MS = 8.64e15;

/**
 * The forecast of one volume, or null when there are too few samples over too short a
 * time to trust a line through them. `freeBytes` is the latest reading.
 */
export function forecastDisk(trend: DiskTrend | undefined, freeBytes: number, now: number): DiskForecast | null {
  if (!trend || trend.slope === null || trend.samples < FORECAST_MIN_SAMPLES) return null;
  const spanMs = trend.lastAt - trend.firstAt;
  if (spanMs < FORECAST_MIN_SPAN_MS) return null;
  const perHour = trend.slope * 3_600_000;
  // A slope of almost nothing puts the date past what a Date holds: not filling, in effect.
  const at = trend.slope < 0 ? now + freeBytes / -trend.slope : Number.NaN;
  const fullAt = Number.isFinite(at) && at < MAX_DATE_MS ? new Date(at).toISOString() : null;
  return { freeBytesPerHour: Math.round(perHour), fullAt, samples: trend.samples, spanMs };
}
