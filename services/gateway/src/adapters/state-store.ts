import { FILE_STATUSES, type Database, type FileStatus } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { Memo } from '../domain/memo.js';
import { FORECAST_WINDOW_MS, forecastDisk, type DiskForecast, type DiskTrend } from '../domain/disk-forecast.js';

/** A component counts as stale after this many missed heartbeats. */
export const STALE_AFTER_BEATS = 3;

/** A component (one service instance) as the API shows it. */
export interface ComponentView {
  service: string;
  instance: string;
  version: string;
  startedAt: string;
  lastSeenAt: string;
  intervalMs: number;
  ageMs: number;
  staleAfterMs: number;
  stale: boolean;
  /** The instrument a watcher watches; null for other services. */
  instrument: string | null;
  disks: { path: string; freeBytes: number; totalBytes: number; usedFraction: number | null; forecast: DiskForecast | null }[];
  details: Record<string, string | number | boolean | null>;
}

/** An instrument: its files per status, its last detection and its watchers' heartbeats. */
export interface InstrumentView {
  instrument: string;
  counts: Record<FileStatus, number>;
  total: number;
  lastDetectedAt: string | null;
  lastHeartbeatAt: string | null;
  heartbeatAgeMs: number | null;
  stale: boolean | null;
  watchers: { instance: string; lastSeenAt: string; ageMs: number; stale: boolean }[];
}

function emptyCounts(): Record<FileStatus, number> {
  return Object.fromEntries(FILE_STATUSES.map((s) => [s, 0])) as Record<FileStatus, number>;
}

/** Reads what the monitor keeps about instruments and components; never writes. */
export class StateStore {
  private readonly counts: Memo<{ instrument: string; status: FileStatus; n: number; last: Date | null }[]>;

  /** `countsTtlMs`: how long the file counts (a scan of the whole table) are reused, default 5 s. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
    countsTtlMs = 5000,
  ) {
    this.counts = new Memo(countsTtlMs);
  }

  async components(): Promise<ComponentView[]> {
    const now = this.now().getTime();
    const [rows, trends] = await Promise.all([
      this.db.selectFrom('components').selectAll().orderBy('service').orderBy('instance').execute(),
      this.diskTrends(now),
    ]);
    return rows.map((r) => {
      const ageMs = Math.max(0, now - r.last_seen_at.getTime());
      const staleAfterMs = STALE_AFTER_BEATS * r.interval_ms;
      const instrument = r.service === 'watcher' && typeof r.details.instrument === 'string' ? r.details.instrument : null;
      return {
        service: r.service,
        instance: r.instance,
        version: r.version,
        startedAt: r.started_at.toISOString(),
        lastSeenAt: r.last_seen_at.toISOString(),
        intervalMs: r.interval_ms,
        ageMs,
        staleAfterMs,
        stale: ageMs > staleAfterMs,
        instrument,
        disks: r.disks.map((d) => ({
          path: d.path,
          freeBytes: d.freeBytes,
          totalBytes: d.totalBytes,
          usedFraction: d.totalBytes > 0 ? Math.min(1, Math.max(0, (d.totalBytes - d.freeBytes) / d.totalBytes)) : null,
          forecast: forecastDisk(trends.get(`${r.service}\u0000${r.instance}\u0000${d.path}`), d.freeBytes, now),
        })),
        details: r.details,
      };
    });
  }

  /** Least-squares slope of free bytes over time per volume, over the recent samples. */
  private async diskTrends(now: number): Promise<Map<string, DiskTrend>> {
    const ref = new Date(now);
    const { rows } = await sql<{ service: string; instance: string; path: string; samples: number; first_at: Date; last_at: Date; slope: number | null }>`
      select service, instance, path, count(*)::int as samples, min(at) as first_at, max(at) as last_at,
             regr_slope(free_bytes::float8, extract(epoch from (at - ${ref}::timestamptz)) * 1000) as slope
      from disk_samples
      where bucket_at >= ${new Date(now - FORECAST_WINDOW_MS)}
      group by service, instance, path`.execute(this.db);
    return new Map(rows.map((r) => [`${r.service}\u0000${r.instance}\u0000${r.path}`, { samples: r.samples, firstAt: r.first_at.getTime(), lastAt: r.last_at.getTime(), slope: r.slope }]));
  }

  /** Every instrument that has files or a watcher, by name. */
  async instruments(): Promise<InstrumentView[]> {
    const now = this.now().getTime();
    const [counts, watchers] = await Promise.all([
      this.counts.get('all', () =>
        this.db
          .selectFrom('files')
          .select(['instrument', 'status', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('detected_at').as('last')])
          .groupBy(['instrument', 'status'])
          .execute()
          .then((rows) => rows.map((r) => ({ instrument: r.instrument, status: r.status, n: Number(r.n), last: r.last }))),
      ),
      this.db.selectFrom('components').select(['instance', 'last_seen_at', 'interval_ms', 'details']).where('service', '=', 'watcher').execute(),
    ]);
    const byName = new Map<string, InstrumentView>();
    const get = (name: string) => {
      let view = byName.get(name);
      if (!view) {
        view = { instrument: name, counts: emptyCounts(), total: 0, lastDetectedAt: null, lastHeartbeatAt: null, heartbeatAgeMs: null, stale: null, watchers: [] };
        byName.set(name, view);
      }
      return view;
    };
    for (const c of counts) {
      const view = get(c.instrument);
      const n = c.n;
      view.counts[c.status] = n;
      view.total += n;
      const last = c.last;
      if (last && (view.lastDetectedAt === null || last.toISOString() > view.lastDetectedAt)) view.lastDetectedAt = last.toISOString();
    }
    for (const w of watchers) {
      const name = w.details.instrument;
      if (typeof name !== 'string' || name === '') continue;
      const view = get(name);
      const ageMs = Math.max(0, now - w.last_seen_at.getTime());
      view.watchers.push({ instance: w.instance, lastSeenAt: w.last_seen_at.toISOString(), ageMs, stale: ageMs > STALE_AFTER_BEATS * w.interval_ms });
      // The watcher may know of a detection the files table has not got yet.
      const reported = typeof w.details.lastDetectionAt === 'string' ? Date.parse(w.details.lastDetectionAt) : Number.NaN;
      if (Number.isFinite(reported) && (view.lastDetectedAt === null || reported > Date.parse(view.lastDetectedAt))) view.lastDetectedAt = new Date(reported).toISOString();
    }
    for (const view of byName.values()) {
      if (view.watchers.length === 0) continue;
      view.watchers.sort((a, b) => (a.instance < b.instance ? -1 : 1));
      const newest = view.watchers.reduce((a, b) => (a.ageMs <= b.ageMs ? a : b));
      view.lastHeartbeatAt = newest.lastSeenAt;
      view.heartbeatAgeMs = newest.ageMs;
      view.stale = view.watchers.every((w) => w.stale);
    }
    return [...byName.values()].sort((a, b) => (a.instrument < b.instrument ? -1 : a.instrument > b.instrument ? 1 : 0));
  }
}
