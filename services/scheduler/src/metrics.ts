import { counter, errorMessage, gauge, histogram, withTimeout, type Logger } from '@ferry/common';
import { QUEUE_STATES } from './adapters/job-queues.js';

// The scheduler's Prometheus metrics. Labels stay bounded: queue and pipeline names come
// from configuration, never from a file. The names are the ones the Grafana dashboard queries.

/** Seconds buckets for one pipeline command: a second to a day. */
const JOB_BUCKETS = [0.1, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21_600, 86_400];


export const schedulerMetrics = {
  jobs: counter('ferry_jobs_total', 'Pipeline job tries by pipeline and outcome: done, retried (failed, will run again), failed (for good).', ['pipeline', 'outcome']),
  jobSeconds: histogram('ferry_job_duration_seconds', 'Run time of one pipeline command (or Slurm job), by pipeline.', ['pipeline'], JOB_BUCKETS),
  backups: counter('ferry_backups_total', 'Database backups by outcome: verified, unverified (stored, not verified), failed (not stored).', ['outcome']),
  backupLastSuccess: gauge('ferry_backup_last_success_timestamp_seconds', 'Unix time of the last backup stored and verified (or stored, with verification turned off) by this process.'),
};

/** Job counts per BullMQ queue name, read from Redis at scrape time. */
type QueueCounts = () => Promise<Record<string, Record<string, number>>>;

const sources = new Map<QueueCounts, Logger>();
/** A scrape waits this long for Redis; a slower answer leaves the series out rather than stalling Prometheus. */
const COUNT_TIMEOUT_MS = 2000;

gauge('ferry_queue_jobs', 'Jobs in each BullMQ queue by state (waiting, active, delayed, failed, completed), read from Redis at scrape time.', ['queue', 'state'], async (g) => {
  const read = await Promise.all(
    [...sources].map(async ([counts, logger]) => {
      try {
        return await withTimeout(counts(), COUNT_TIMEOUT_MS, 'Redis');
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'queue counts not read for metrics');
        return {};
      }
    }),
  );
  g.reset();
  for (const byQueue of read) {
    for (const [queue, counts] of Object.entries(byQueue)) {
      for (const state of QUEUE_STATES) g.set({ queue, state }, counts[state] ?? 0);
    }
  }
});

/** Reports `counts` in `ferry_queue_jobs` until the returned function is called. */
export function trackQueues(counts: QueueCounts, logger: Logger): () => void {
  sources.set(counts, logger);
  return () => {
    sources.delete(counts);
  };
}
