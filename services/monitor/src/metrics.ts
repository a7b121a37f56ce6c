import { counter, errorMessage, gauge, histogram, withTimeout, type Database, type EventName, type Logger } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { RULES } from './domain/rules/index.js';

// The monitor's Prometheus metrics. Labels stay bounded: rule names, receiver kinds,
// event names, never a file or an alert's own labels. The names are the ones the
// Grafana dashboard queries.

/** Seconds from an event's own time to its projection: 10 ms to a day (a replay after an outage). */
const LAG_BUCKETS = [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 21_600, 86_400];

export const monitorMetrics = {
  notifications: counter('ferry_notifications_total', 'Notification tries by channel (slack, teams, webhook) and outcome: sent, retried (will be tried again), failed (given up).', ['channel', 'outcome']),
  projected: counter('ferry_events_projected_total', 'Events written into PostgreSQL by the projection, by event name.', ['event']),
  lag: histogram('ferry_projection_lag_seconds', "Time from an event's own timestamp (detectedAt, storedAt, at, …) to its projection, by event name.", ['event'], LAG_BUCKETS),
};

/** The time an event says it happened, for the projection lag; undefined when it carries none. */
export function eventTime(event: unknown): number | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as Record<string, unknown>;
  for (const key of ['at', 'detectedAt', 'storedAt', 'failedAt', 'finishedAt', 'endsAt', 'startsAt']) {
    const v = e[key];
    if (typeof v === 'string') {
      const t = Date.parse(v);
      if (Number.isFinite(t)) return t;
    }
  }
  return undefined;
}

/** Records one projected event. */
export function projected(name: EventName, event: unknown, now = Date.now()): void {
  monitorMetrics.projected.inc({ event: name });
  const at = eventTime(event);
  if (at !== undefined) monitorMetrics.lag.observe({ event: name }, Math.max(0, (now - at) / 1000));
}

/** A scrape waits this long for PostgreSQL; a slower answer leaves the series out. */
const QUERY_TIMEOUT_MS = 2000;
const sources = new Map<Kysely<Database>, Logger>();

async function fromEach<T>(what: string, read: (db: Kysely<Database>) => Promise<T>): Promise<T[]> {
  const out = await Promise.all(
    [...sources].map(async ([db, logger]) => {
      try {
        return await withTimeout(read(db), QUERY_TIMEOUT_MS, 'PostgreSQL');
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, `${what} not read for metrics`);
        return undefined;
      }
    }),
  );
  return out.filter((v): v is Awaited<T> => v !== undefined);
}

// Read from the state tables at scrape time, so every monitor instance reports the same
// numbers whether or not it is the leader: dashboards take the max across instances.
gauge('ferry_alerts_firing', 'Alerts firing now, by rule; read from PostgreSQL at scrape time (the same on every monitor instance).', ['rule'], async (g) => {
  const read = await fromEach('firing alerts', (db) =>
    db.selectFrom('alerts').select(['rule', sql<number>`count(*)::int`.as('n')]).where('status', '=', 'firing').groupBy('rule').execute(),
  );
  g.reset();
  if (read.length === 0) return;
  for (const rule of RULES) g.set({ rule: rule.name }, 0);
  for (const rows of read) for (const r of rows) g.set({ rule: r.rule }, r.n);
});

gauge('ferry_outbox_pending', 'Notifications queued and not yet delivered (waiting for their first try or a retry); read from PostgreSQL at scrape time.', [], async (g) => {
  const read = await fromEach('pending notifications', (db) =>
    db.selectFrom('notification_deliveries').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow(),
  );
  g.reset();
  if (read.length > 0) g.set(Math.max(...read.map((r) => r.n)));
});

/** Reports the alerts and the outbox of `db` until the returned function is called. */
export function trackState(db: Kysely<Database>, logger: Logger): () => void {
  sources.set(db, logger);
  return () => {
    sources.delete(db);
  };
}
