/**
 * A pool: one BullMQ queue whose jobs share concurrency limits, the way Airflow pools
 * limit copies or cluster slots.
 */
export interface PoolSettings {
  name: string;
  /** Jobs at once per worker process. */
  concurrency: number;
  /** Jobs at once across every worker of the pool; unlimited when unset. */
  globalConcurrency?: number | undefined;
}

/**
 * The settings of every pool the pipelines use: the configured ones, and a pool with the
 * default per-worker concurrency for any pipeline whose pool is not configured.
 */
export function poolsFor(pipelines: readonly { pool: string }[], configured: Readonly<Record<string, Omit<PoolSettings, 'name'>>>, defaultConcurrency: number): Map<string, PoolSettings> {
  const pools = new Map<string, PoolSettings>();
  for (const [name, settings] of Object.entries(configured)) pools.set(name, { name, ...settings });
  for (const { pool } of pipelines) {
    if (!pools.has(pool)) pools.set(pool, { name: pool, concurrency: defaultConcurrency });
  }
  return pools;
}
