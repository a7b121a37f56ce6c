import { errorMessage, type Logger } from '@ferry/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ident } from './pg-tools.js';
import type { ZoneStore } from './zone-store.js';

/** A table whose old rows go. */
export interface RowRetention {
  table: string;
  /** The time column; when unset, the first of `at`, `bucket`, `minute`, `hour`, `day`, `created_at`, `ts` that the table has. */
  column?: string | undefined;
  maxAgeMs: number;
}

/** Options for {@link deleteOldRows}. */
export interface DeleteOldRowsOptions {
  pool: pg.Pool;
  rules: readonly RowRetention[];
  now: Date;
  /** Rows per DELETE statement (default 5000): short statements keep locks and WAL bursts small. */
  batchSize?: number;
  /** Pause between statements (default 200 ms), so the monitor's writes are not starved. */
  pauseMs?: number;
  signal?: AbortSignal | undefined;
  logger: Logger;
}

const TIME_COLUMNS = ['at', 'bucket', 'minute', 'hour', 'day', 'created_at', 'ts'];

/**
 * Deletes rows older than each rule's age (strictly older than `now - maxAge`), a batch
 * per statement until none is left. A table that does not exist (yet) is skipped.
 * Returns the rows deleted per table, or `skipped` with why.
 */
export async function deleteOldRows(options: DeleteOldRowsOptions): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  const batch = options.batchSize ?? 5000;
  for (const rule of options.rules) {
    const exists = await options.pool.query<{ oid: string | null }>('select to_regclass($1)::text as oid', [rule.table]);
    if (!exists.rows[0]?.oid) {
      out[rule.table] = 'skipped: no such table';
      continue;
    }
    const column = rule.column ?? (await timeColumn(options.pool, rule.table));
    if (!column) {
      out[rule.table] = `skipped: no time column (${TIME_COLUMNS.join(', ')})`;
      options.logger.warn({ table: rule.table }, 'retention skipped: the table has no known time column');
      continue;
    }
    const cutoff = new Date(options.now.getTime() - rule.maxAgeMs);
    // ctid batches work on any table, with or without a primary key.
    const statement = `delete from ${ident(rule.table)} where ctid = any(array(select ctid from ${ident(rule.table)} where ${ident(column)} < $1 limit $2))`;
    let deleted = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const r = await options.pool.query(statement, [cutoff, batch]);
      deleted += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < batch) break;
      await sleep(options.pauseMs ?? 200, undefined, { signal: options.signal });
    }
    out[rule.table] = deleted;
    options.logger.info({ table: rule.table, deleted, cutoff: cutoff.toISOString() }, 'old rows deleted');
  }
  return out;
}

async function timeColumn(pool: pg.Pool, table: string): Promise<string | undefined> {
  const r = await pool.query<{ column_name: string }>(
    `select column_name from information_schema.columns
      where table_schema = current_schema() and table_name = $1
        and data_type in ('timestamp with time zone', 'timestamp without time zone', 'date')`,
    [table],
  );
  const names = new Set(r.rows.map((row) => row.column_name));
  return TIME_COLUMNS.find((c) => names.has(c));
}

/** Options for {@link deleteExpiredObjects}. */
export interface ExpireObjectsOptions {
  store: ZoneStore;
  /** Only keys under this prefix (the zone's own prefix, usually). */
  prefix: string;
  maxAgeMs: number;
  now: Date;
  /** Keys per DeleteObjects request (default and most 1000). */
  batchSize?: number;
  logger: Logger;
}

/**
 * Deletes the objects last modified strictly before `now - maxAge` under a prefix,
 * listing a page at a time and deleting in batches. Returns what it deleted and kept.
 */
export async function deleteExpiredObjects(options: ExpireObjectsOptions): Promise<{ deleted: string[]; kept: number; failed: number }> {
  const cutoff = options.now.getTime() - options.maxAgeMs;
  const batchSize = Math.min(1000, options.batchSize ?? 1000);
  const deleted: string[] = [];
  let kept = 0;
  let failed = 0;
  let pending: string[] = [];
  const flush = async () => {
    const keys = pending;
    pending = [];
    const errors = await options.store.deleteMany(keys);
    const bad = new Set(errors.map((e) => e.key));
    for (const e of errors) options.logger.warn(e, 'could not delete an expired object');
    failed += bad.size;
    deleted.push(...keys.filter((k) => !bad.has(k)));
  };
  // Collect first: deleting while paging through a listing can make the store skip keys.
  const expired: string[] = [];
  for await (const page of options.store.list(options.prefix)) {
    for (const o of page) {
      if (o.lastModified.getTime() < cutoff) expired.push(o.key);
      else kept++;
    }
  }
  for (const key of expired) {
    pending.push(key);
    if (pending.length >= batchSize) await flush();
  }
  if (pending.length > 0) await flush();
  if (deleted.length > 0) options.logger.info({ zone: options.store.zone.name, deleted: deleted.length, kept }, 'expired objects deleted');
  return { deleted, kept, failed };
}

/**
 * Aborts multipart uploads started before `now - maxAge`: an upload that died leaves
 * its parts behind, invisible in listings but stored and billed. A store that does not
 * list multipart uploads is reported, not treated as an error.
 */
export async function abortStaleUploads(options: { store: ZoneStore; prefix: string; maxAgeMs: number; now: Date; logger: Logger }): Promise<{ aborted: number; unsupported?: string }> {
  const cutoff = options.now.getTime() - options.maxAgeMs;
  let aborted = 0;
  try {
    for await (const page of options.store.pendingUploads(options.prefix)) {
      for (const upload of page) {
        if (upload.initiated.getTime() >= cutoff) continue;
        await options.store.abortUpload(upload);
        aborted++;
      }
    }
  } catch (err) {
    if (/NotImplemented|not implemented/i.test(`${(err as Error).name} ${errorMessage(err)}`)) {
      options.logger.warn({ zone: options.store.zone.name }, 'the store does not list multipart uploads; leftovers are not cleaned');
      return { aborted, unsupported: errorMessage(err) };
    }
    throw err;
  }
  if (aborted > 0) options.logger.info({ zone: options.store.zone.name, aborted }, 'stale multipart uploads aborted');
  return { aborted };
}
