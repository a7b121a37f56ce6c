import { errorMessage, type Database, type Logger } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { RequestCounter, type RequestCount, type RequestSample } from '../domain/request-stats.js';

const HOUR_MS = 3_600_000;

interface Counts {
  count: number;
  clientErrors: number;
  serverErrors: number;
  avgMs: number;
}

/** What `GET /api/v1/stats/requests` answers. */
export interface RequestStatsView {
  hours: number;
  from: string;
  to: string;
  total: Counts;
  hourly: ({ hour: string } & Counts)[];
  routes: ({ method: string; route: string } & Counts)[];
  clients: ({ client: string } & Counts)[];
  failures: { method: string; route: string; status: number; client: string; count: number }[];
}

/** Rows per statement when flushing. */
const FLUSH_CHUNK = 500;
/** Entries per list of the report; the busiest first. */
const REPORT_TOP = 100;

const COUNTS = sql<Counts>`
  coalesce(sum(count), 0)::int as count,
  coalesce(sum(count) filter (where status between 400 and 499), 0)::int as "clientErrors",
  coalesce(sum(count) filter (where status >= 500), 0)::int as "serverErrors",
  case when sum(count) > 0 then round((sum(total_ms) / sum(count))::numeric, 1)::float8 else 0 end as "avgMs"`;

/**
 * Request statistics: counted in memory per hour, route, method, status and client, and
 * added to `request_stats` every flush (an upsert that adds, so several gateways share
 * rows). Old hours are deleted by the scheduler's retention job (REQUEST_STATS_RETENTION).
 */
export class RequestStats {
  private readonly counter = new RequestCounter();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private readonly flushIntervalMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    options: { flushIntervalMs: number; now?: () => Date },
  ) {
    this.flushIntervalMs = options.flushIntervalMs;
    this.now = options.now ?? (() => new Date());
  }

  /** Counts one answer. The flush timer starts with the first. */
  record(sample: RequestSample): void {
    this.counter.add(sample);
    if (!this.timer && !this.stopped) {
      this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
      // Statistics never keep a process alive; stop() writes what is left.
      this.timer.unref();
    }
  }

  /** Writes what was counted; a failed write keeps the counts for the next one. */
  async flush(): Promise<void> {
    // One flush at a time: a second caller waits for the running one, then writes what came since.
    while (this.flushing) await this.flushing;
    const counts = this.counter.drain();
    if (counts.length === 0) return;
    this.flushing = this.write(counts)
      .catch((err: unknown) => {
        this.counter.restore(counts);
        this.logger.warn({ err: errorMessage(err), pending: counts.length }, 'request statistics not written; will retry');
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  /** Stops the timer and writes what is left; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private async write(counts: readonly RequestCount[]): Promise<void> {
    for (let i = 0; i < counts.length; i += FLUSH_CHUNK) {
      const chunk = counts.slice(i, i + FLUSH_CHUNK);
      await this.db
        .insertInto('request_stats')
        .values(chunk.map((c) => ({ hour: c.hour, route: c.route, method: c.method, status: c.status, client: c.client, count: c.count, total_ms: c.totalMs })))
        .onConflict((oc) =>
          oc.columns(['hour', 'route', 'method', 'status', 'client']).doUpdateSet({
            count: sql<number>`request_stats.count + excluded.count`,
            total_ms: sql<number>`request_stats.total_ms + excluded.total_ms`,
          }),
        )
        .execute();
    }
  }

  /** The last `hours` hours (the current one included), after writing what is pending. */
  async report(hours: number): Promise<RequestStatsView> {
    await this.flush();
    const currentHour = Math.floor(this.now().getTime() / HOUR_MS) * HOUR_MS;
    const from = new Date(currentHour - (hours - 1) * HOUR_MS);
    const to = new Date(currentHour + HOUR_MS);
    const range = sql<boolean>`hour >= ${from} and hour < ${to}`;
    const [total, hourly, routes, clients, failures] = await Promise.all([
      sql<Counts>`select ${COUNTS} from request_stats where ${range}`.execute(this.db),
      sql<{ hour: Date } & Counts>`select hour, ${COUNTS} from request_stats where ${range} group by hour order by hour`.execute(this.db),
      sql<{ method: string; route: string } & Counts>`
        select method, route, ${COUNTS} from request_stats where ${range}
        group by method, route order by count desc, route, method limit ${REPORT_TOP}`.execute(this.db),
      sql<{ client: string } & Counts>`
        select client, ${COUNTS} from request_stats where ${range}
        group by client order by count desc, client limit ${REPORT_TOP}`.execute(this.db),
      sql<{ method: string; route: string; status: number; client: string; count: number }>`
        select method, route, status, client, sum(count)::int as count from request_stats where ${range} and status >= 400
        group by method, route, status, client order by count desc, route, status, client limit ${REPORT_TOP}`.execute(this.db),
    ]);
    return {
      hours,
      from: from.toISOString(),
      to: to.toISOString(),
      total: total.rows[0] ?? { count: 0, clientErrors: 0, serverErrors: 0, avgMs: 0 },
      hourly: hourly.rows.map(({ hour, ...c }) => ({ hour: hour.toISOString(), ...c })),
      routes: routes.rows,
      clients: clients.rows,
      failures: failures.rows,
    };
  }
}
