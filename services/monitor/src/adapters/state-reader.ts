import type { Database, Logger } from '@ferry/common';
import { errorMessage } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { WAITING_STATUSES, type AlertSettings, type WaitingStatus } from '../domain/settings.js';
import type { BackupState, CanaryState, ComponentState, DeadLetterGroup, DiskTrend, FailureGroup, Snapshot, WaitingFiles } from '../domain/rules/types.js';

const ms = (d: Date | string | null): number | null => (d === null ? null : new Date(d).getTime());

/** The key in `monitor_state` holding when this deployment's alerting first ran. */
export const SINCE_KEY = 'alerting.since';

/**
 * Reads what the rules need from PostgreSQL, one query per part. A part whose query
 * fails is left out (its rules keep their alerts) and logged; the others still count.
 */
export class StateReader {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
  ) {}

  async read(now: number, settings: AlertSettings): Promise<Snapshot> {
    const parts = await Promise.all([
      this.part('components', () => this.components()),
      this.part('diskTrends', () => this.diskTrends(now, settings)),
      this.part('waiting', () => this.waiting(now, settings)),
      this.part('failures', () => this.failures(now, settings)),
      this.part('deadLetters', () => this.deadLetters(now, settings)),
      this.part('backups', () => this.backups()),
      this.part('lastDetections', () => this.lastDetections(settings)),
      this.part('since', () => this.since(now)),
      this.part('canaries', () => this.canaries()),
    ]);
    const [components, diskTrends, waiting, failures, deadLetters, backups, lastDetections, since, canaries] = parts;
    return { components, diskTrends, waiting, failures, deadLetters, backups, lastDetections, since, canaries };
  }

  private async part<T>(name: string, read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (err) {
      this.logger.warn({ part: name, err: errorMessage(err) }, 'could not read state for the alert rules');
      return undefined;
    }
  }

  private async components(): Promise<ComponentState[]> {
    const rows = await this.db.selectFrom('components').selectAll().execute();
    return rows.map((r) => ({
      service: r.service,
      instance: r.instance,
      lastSeenAt: r.last_seen_at.getTime(),
      startedAt: r.started_at.getTime(),
      intervalMs: r.interval_ms,
      disks: r.disks,
      details: r.details,
    }));
  }

  /** Least-squares slope of free bytes over time per volume, computed by PostgreSQL (`regr_slope`). */
  private async diskTrends(now: number, settings: AlertSettings): Promise<DiskTrend[]> {
    if (!settings.disk.enabled || !settings.disk.forecast.enabled) return [];
    const since = new Date(now - settings.disk.forecast.window);
    const ref = new Date(now);
    const { rows } = await sql<{ service: string; instance: string; path: string; samples: number; first_at: Date; last_at: Date; slope: number | null }>`
      select service, instance, path, count(*)::int as samples, min(at) as first_at, max(at) as last_at,
             regr_slope(free_bytes::float8, extract(epoch from (at - ${ref}::timestamptz)) * 1000) as slope
      from disk_samples
      where bucket_at >= ${since}
      group by service, instance, path`.execute(this.db);
    return rows.map((r) => ({
      service: r.service,
      instance: r.instance,
      path: r.path,
      samples: r.samples,
      firstAt: r.first_at.getTime(),
      lastAt: r.last_at.getTime(),
      slope: r.slope ?? 0,
    }));
  }

  private async waiting(now: number, settings: AlertSettings): Promise<WaitingFiles[]> {
    if (!settings.files.enabled) return [];
    const counts = await this.db
      .selectFrom('files')
      .select(['instrument', 'status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('status', 'in', [...WAITING_STATUSES])
      .groupBy(['instrument', 'status'])
      .execute();
    const out = new Map<string, WaitingFiles>();
    for (const c of counts) {
      out.set(`${c.instrument}\u0000${c.status}`, { instrument: c.instrument, status: c.status as WaitingStatus, count: Number(c.count), overdue: [], overdueCount: 0 });
    }
    // Files past their status's limit: the three oldest per instrument and status, and how many.
    const overdue = WAITING_STATUSES.map((s) => sql`(status = ${s} and updated_at < ${new Date(now - settings.files.maxAge[s])})`);
    const { rows } = await sql<{ instrument: string; status: WaitingStatus; path: string; since: Date; n: number }>`
      select instrument, status, path, since, n from (
        select instrument, status, path, updated_at as since,
               count(*) over (partition by instrument, status)::int as n,
               row_number() over (partition by instrument, status order by updated_at, id) as rn
        from files where ${sql.join(overdue, sql` or `)}
      ) o where rn <= 3 order by instrument, status, since`.execute(this.db);
    for (const r of rows) {
      const key = `${r.instrument}\u0000${r.status}`;
      const w = out.get(key) ?? { instrument: r.instrument, status: r.status, count: r.n, overdue: [], overdueCount: 0 };
      w.overdue.push({ path: r.path, since: r.since.getTime() });
      w.overdueCount = r.n;
      out.set(key, w);
    }
    return [...out.values()];
  }

  private async failures(now: number, settings: AlertSettings): Promise<FailureGroup[]> {
    if (!settings.failures.enabled) return [];
    const since = new Date(now - settings.failures.window);
    type Row = { instrument: string; pipeline: string; count: number; last_at: Date; examples: { path: string; error: string }[] };
    const uploads = await sql<Row>`
      select instrument, '' as pipeline, count(*)::int as count, max(updated_at) as last_at,
             (array_to_json((array_agg(json_build_object('path', path, 'error', coalesce(error, '')) order by updated_at desc))[1:3])) as examples
      from files where status = 'failed' and failed_step = 'upload' and updated_at >= ${since}
      group by instrument`.execute(this.db);
    const jobs = await sql<Row>`
      select coalesce(f.instrument, '') as instrument, j.pipeline, count(*)::int as count, max(j.finished_at) as last_at,
             (array_to_json((array_agg(json_build_object('path', coalesce(f.path, j.file_id), 'error', coalesce(j.error, '')) order by j.finished_at desc))[1:3])) as examples
      from jobs j left join files f on f.id = j.file_id
      where j.status = 'failed' and j.finished_at >= ${since}
      group by 1, 2`.execute(this.db);
    const map = (kind: FailureGroup['kind']) => (r: Row) => ({ kind, instrument: r.instrument, pipeline: r.pipeline, count: r.count, lastAt: r.last_at.getTime(), examples: r.examples });
    return [...uploads.rows.map(map('upload')), ...jobs.rows.map(map('job'))];
  }

  private async deadLetters(now: number, settings: AlertSettings): Promise<DeadLetterGroup[]> {
    if (!settings.deadLetters.enabled) return [];
    const { rows } = await sql<{ stream: string; consumer: string; count: number; last_at: Date; last_subject: string; last_error: string }>`
      select stream, consumer, count(*)::int as count, max(at) as last_at,
             (array_agg(subject order by at desc))[1] as last_subject, (array_agg(error order by at desc))[1] as last_error
      from dead_letters where at >= ${new Date(now - settings.deadLetters.window)}
      group by stream, consumer`.execute(this.db);
    return rows.map((r) => ({ stream: r.stream, consumer: r.consumer, count: r.count, lastAt: r.last_at.getTime(), lastSubject: r.last_subject, lastError: r.last_error.slice(0, 500) }));
  }

  /** The latest check per canary instrument, with its last `ok`. */
  private async canaries(): Promise<CanaryState[]> {
    const rows = await this.db
      .selectFrom('canary_results as c')
      .distinctOn('c.instrument')
      .select(['c.instrument', 'c.instance', 'c.result', 'c.checked_at', 'c.latency_ms', 'c.limit_ms', 'c.interval_ms', 'c.detail'])
      .select((eb) =>
        eb
          .selectFrom('canary_results as ok')
          .whereRef('ok.instrument', '=', 'c.instrument')
          .where('ok.result', '=', 'ok')
          .select((e) => e.fn.max('ok.checked_at').as('at'))
          .as('last_ok_at'),
      )
      .orderBy('c.instrument')
      .orderBy('c.checked_at', 'desc')
      .execute();
    return rows.map((r) => ({
      instrument: r.instrument,
      instance: r.instance,
      result: r.result,
      checkedAt: new Date(r.checked_at).getTime(),
      latencyMs: r.latency_ms,
      limitMs: r.limit_ms,
      intervalMs: r.interval_ms,
      detail: r.detail,
      lastOkAt: r.last_ok_at === null ? null : new Date(r.last_ok_at).getTime(),
    }));
  }

  private async backups(): Promise<BackupState> {
    const verified = await this.db
      .selectFrom('backups')
      .select((eb) => eb.fn.max('finished_at').as('at'))
      .where('verified', '=', true)
      .where('error', 'is', null)
      .executeTakeFirst();
    const last = await this.db.selectFrom('backups').select(['finished_at', 'verified', 'error']).orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
    return {
      lastVerifiedAt: ms((verified?.at as Date | null | undefined) ?? null),
      last: last ? { finishedAt: last.finished_at.getTime(), verified: last.verified, error: last.error } : null,
    };
  }

  /** Latest detection of each configured instrument: its newest file, or what its watcher last reported. */
  private async lastDetections(settings: AlertSettings): Promise<Record<string, number>> {
    const instruments = Object.keys(settings.instruments);
    const out: Record<string, number> = {};
    if (instruments.length === 0) return out;
    for (const instrument of instruments) {
      const row = await this.db.selectFrom('files').select((eb) => eb.fn.max('detected_at').as('at')).where('instrument', '=', instrument).executeTakeFirst();
      const at = ms((row?.at as Date | null | undefined) ?? null);
      if (at !== null) out[instrument] = at;
    }
    const watchers = await this.db.selectFrom('components').select(['details']).where('service', '=', 'watcher').execute();
    for (const { details } of watchers) {
      const instrument = details.instrument;
      const reported = typeof details.lastDetectionAt === 'string' ? Date.parse(details.lastDetectionAt) : NaN;
      if (typeof instrument === 'string' && instruments.includes(instrument) && Number.isFinite(reported)) {
        out[instrument] = Math.max(out[instrument] ?? 0, reported);
      }
    }
    return out;
  }

  /** When alerting first ran here; recorded on first use. */
  private async since(now: number): Promise<number> {
    await this.db
      .insertInto('monitor_state')
      .values({ key: SINCE_KEY, value: JSON.stringify({ at: new Date(now).toISOString() }), updated_at: new Date(now) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const row = await this.db.selectFrom('monitor_state').select('value').where('key', '=', SINCE_KEY).executeTakeFirstOrThrow();
    const at = Date.parse(String(row.value.at));
    return Number.isFinite(at) ? at : now;
  }
}
