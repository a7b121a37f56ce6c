import type { ZoneConfig } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortStaleUploads, deleteExpiredObjects, deleteOldRows } from './retention.js';
import { openZoneStore, type PendingUpload, type ZoneStore } from './zone-store.js';
import { waitFor } from '../testing/harness.js';

const DAY = 86_400_000;
const logger = testLogger('scheduler');

describe('timeline and request-statistics retention in PostgreSQL', () => {
  let iso: Isolated;
  let pool: pg.Pool;
  const now = new Date('2025-06-18T12:00:00.000Z');
  const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]?.n);

  beforeAll(async () => {
    iso = await isolate('retention');
    pool = new pg.Pool({ connectionString: iso.databaseUrl, max: 2 });
  });
  afterAll(() => pool?.end());

  it('deletes exactly the rows older than the age, in batches, and skips a missing table', async () => {
    const cutoff = now.getTime() - 30 * DAY;
    // 12,345 rows well past the age, and the boundary cases on either side of it.
    await pool.query(
      `insert into file_events (file_id, event_id, event, at)
       select 'f', 'old-' || i, 'upload.done', $1::timestamptz - i * interval '1 second' from generate_series(1, 12345) i`,
      [new Date(cutoff - 1000)],
    );
    const rows: [string, number][] = [
      ['just-past', cutoff - 1],
      ['exactly-at', cutoff],
      ['just-inside', cutoff + 1],
      ['recent', now.getTime() - DAY],
    ];
    for (const [id, at] of rows) await pool.query(`insert into file_events (file_id, event_id, event, at) values ('f', $1, 'x', $2)`, [id, new Date(at)]);

    const statements: string[] = [];
    const spy = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return (text: string, values?: unknown[]) => {
            statements.push(text);
            return target.query(text, values);
          };
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const result = await deleteOldRows({
      pool: spy,
      now,
      rules: [
        { table: 'file_events', column: 'at', maxAgeMs: 30 * DAY },
        // A table this database does not have (request_stats may exist: the gateway's migration creates it).
        { table: 'no_such_stats', maxAgeMs: 7 * DAY },
      ],
      batchSize: 5000,
      pauseMs: 1,
      logger,
    });
    expect(result).toEqual({ file_events: 12_346, no_such_stats: 'skipped: no such table' });
    expect(statements.filter((s) => s.startsWith('delete'))).toHaveLength(3);
    const left = (await pool.query<{ event_id: string }>('select event_id from file_events order by event_id')).rows.map((r) => r.event_id);
    expect(left).toEqual(['exactly-at', 'just-inside', 'recent']);
  });

  it('finds the time column of a request-statistics table', async () => {
    // A table of its own shape, whatever the migrations created under that name.
    await pool.query('drop table if exists request_stats');
    await pool.query('create table request_stats (route text not null, minute timestamptz not null, count integer not null)');
    await pool.query(
      `insert into request_stats (route, minute, count) select '/api/v1/files', $1::timestamptz - i * interval '1 minute', 1 from generate_series(0, 99) i`,
      [new Date(now.getTime() - 7 * DAY + 50 * 60_000)],
    );
    const result = await deleteOldRows({ pool, now, rules: [{ table: 'request_stats', maxAgeMs: 7 * DAY }], batchSize: 7, pauseMs: 0, logger });
    // Minutes 0..50 back from cutoff+50min are at or after the cutoff: 51 stay, 49 go.
    expect(result).toEqual({ request_stats: 49 });
    expect(await count('select count(*)::text as n from request_stats')).toBe(51);
  });
});

describe('scratch-zone expiry against a real S3 server', () => {
  let iso: Isolated;
  let store: ZoneStore;
  let other: ZoneStore;

  beforeAll(async () => {
    iso = await isolate('scratch');
    const zone: ZoneConfig = { ...iso.zone, name: 'scratch', prefix: 'scratch' };
    store = openZoneStore(zone);
    other = openZoneStore({ ...iso.zone, prefix: '' });
  });
  afterAll(() => {
    store?.close();
    other?.close();
  });

  it('deletes exactly the objects older than the retention, in batches, under the zone prefix only', async () => {
    // Two groups a clock second apart: S3 listings give modification times in seconds.
    const started = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 12; i++) await store.putText(`scratch/sha256/${String(i).padStart(2, '0')}`, `object ${i}`);
    await waitFor('the next clock second', () => Math.floor(Date.now() / 1000) > started + 1 || undefined, { intervalMs: 20 });
    for (let i = 12; i < 25; i++) await store.putText(`scratch/sha256/${String(i).padStart(2, '0')}`, `object ${i}`);
    await other.putText('default/sha256/keep-me', 'not in the scratch zone');
    const listed = [];
    for await (const page of store.list('scratch/')) listed.push(...page);
    expect(listed).toHaveLength(25);
    // Pick a cutoff between the stored times so some objects are older and some are not;
    // an object modified exactly at the cutoff is not older than it and stays.
    const times = [...new Set(listed.map((o) => o.lastModified.getTime()))].sort((a, b) => a - b);
    const boundary = times[Math.floor(times.length / 2)]!;
    const maxAgeMs = 3 * DAY;
    const expected = listed.filter((o) => o.lastModified.getTime() < boundary).map((o) => o.key).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(25);

    const result = await deleteExpiredObjects({ store, prefix: 'scratch/', maxAgeMs, now: new Date(boundary + maxAgeMs), batchSize: 4, logger });
    expect(result.deleted.sort()).toEqual(expected);
    expect(result.kept).toBe(25 - expected.length);
    expect(result.failed).toBe(0);
    const left = [];
    for await (const page of store.list('scratch/')) left.push(...page.map((o) => o.key));
    expect(left.sort()).toEqual(listed.map((o) => o.key).filter((k) => !expected.includes(k)).sort());

    // One millisecond later the objects at the boundary are older too; the other zone is never touched.
    const later = await deleteExpiredObjects({ store, prefix: 'scratch/', maxAgeMs, now: new Date(boundary + maxAgeMs + 1), logger });
    expect(later.deleted.length).toBe(listed.filter((o) => o.lastModified.getTime() === boundary).length);
    expect(await other.head('default/sha256/keep-me')).toBeDefined();
    const everything = await deleteExpiredObjects({ store, prefix: 'scratch/', maxAgeMs: 1, now: new Date(Date.now() + 1000), logger });
    expect(everything.kept).toBe(0);
    expect(await other.head('default/sha256/keep-me')).toBeDefined();
  });

  it('reports a store that cannot list multipart uploads instead of failing', async () => {
    const result = await abortStaleUploads({ store, prefix: 'scratch/', maxAgeMs: DAY, now: new Date(), logger });
    expect(result.aborted).toBe(0);
    expect(result.unsupported).toBeDefined();
  });
});

describe('abortStaleUploads', () => {
  it('aborts the uploads started before the cutoff and nothing else', async () => {
    const now = new Date('2025-06-18T12:00:00Z');
    const upload = (key: string, ageMs: number): PendingUpload => ({ key, uploadId: `u-${key}`, initiated: new Date(now.getTime() - ageMs) });
    const pages = [[upload('a', 8 * DAY), upload('b', 7 * DAY)], [upload('c', 7 * DAY + 1), upload('d', DAY)]];
    const aborted: string[] = [];
    const fake = {
      zone: { name: 'default', kind: 'local', dir: '/x', prefix: '' },
      async *pendingUploads() {
        for (const p of pages) yield await Promise.resolve(p);
      },
      abortUpload: (u: PendingUpload) => {
        aborted.push(u.key);
        return Promise.resolve();
      },
    } as unknown as ZoneStore;
    expect(await abortStaleUploads({ store: fake, prefix: '', maxAgeMs: 7 * DAY, now, logger })).toEqual({ aborted: 2 });
    expect(aborted).toEqual(['a', 'c']);
  });
});
