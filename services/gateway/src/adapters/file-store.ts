import type { Database, UploadRetryArgs } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { encodeCursor } from '../domain/cursor.js';
import { toFileItem, toJobItem, toTimeline, type FileDetail, type FileItem } from '../domain/file-view.js';
import type { FileListQuery } from '../domain/list-query.js';
import type { FileCursor } from '../domain/cursor.js';
import { chooseGrams, PathSample, walkWindow, type Gram } from '../domain/path-search.js';

/** One page of files and the cursor of the next one (null on the last page). */
export interface FilePage {
  items: FileItem[];
  nextCursor: string | null;
}

/** The file columns the API shows; `root` stays internal. */
export const ITEM_COLUMNS = [
  'id',
  'instrument',
  'path',
  'kind',
  'size',
  'sha256',
  'status',
  'failed_step',
  'error',
  'zone',
  'key',
  'detected_at',
  'stored_at',
  'updated_at',
  'trace_id',
] as const;

/** Escapes LIKE's wildcards so a search for `50%_done` matches those characters literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * "The path holds these runs", written exactly as the path-gram index is (migration
 * 0006) so the planner can use it. The runs are lowered by PostgreSQL, as the paths are,
 * so both follow the database's locale.
 */
export function holdsGrams(grams: readonly Gram[]) {
  const keys = sql.join(grams.map((g) => sql`lower(${g.text}::text)`));
  return sql<boolean>`ferry_path_grams(lower(path) collate "C") @> array[${keys}]::text[] collate "C"`;
}

/** The filters of a file listing, without paging. */
export type FileFilter = Pick<FileListQuery, 'instrument' | 'status' | 'q' | 'since' | 'until'>;

/** Options for {@link FileStore}; the defaults suit production, tests shrink them. */
export interface FileStoreOptions {
  /** Most of the newest files tested for `q` before the path-gram index is asked (default 10,000). */
  searchWindow?: number;
  /** Below this many files no sample is taken: the index is cheap enough as it is (default 50,000). */
  sampleMinRows?: number;
  /** Paths sampled to judge which words of `q` are rare (default 5000), refreshed every `sampleEveryMs` (10 min). */
  sampleSize?: number;
  sampleEveryMs?: number;
}

/**
 * Read access to the files the monitor projects into PostgreSQL. The gateway never
 * writes these tables: the monitor owns them.
 */
export class FileStore {
  private readonly searchWindow: number;
  private readonly sampleMinRows: number;
  private readonly sampleSize: number;
  private readonly sampleEveryMs: number;
  private sample: { at: number; value: PathSample | undefined } | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    options: FileStoreOptions = {},
  ) {
    this.searchWindow = options.searchWindow ?? 10_000;
    this.sampleMinRows = options.sampleMinRows ?? 50_000;
    this.sampleSize = options.sampleSize ?? 5000;
    this.sampleEveryMs = options.sampleEveryMs ?? 600_000;
  }

  /** Newest first by (detected_at, id), after `query.cursor` when given. */
  async list(query: FileListQuery): Promise<FilePage> {
    const rows = query.q === undefined ? await this.select(query, query.cursor).limit(query.limit + 1).execute() : await this.search(query, query.q);
    // One row more than asked tells whether another page exists without a count.
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(toFileItem),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ detectedAt: last.cursor_at, id: last.id }) : null,
    };
  }

  /**
   * A page of files whose path contains `q`, in two stages (see domain/path-search.ts):
   * when the text is common (judged from a sample of paths), the newest files of the
   * other filters are tested in order, which finds a page after a few thousand rows;
   * when it is rare, or that found too little, the path-gram index is asked for the
   * rarest runs of `q`, with the planner kept from walking the whole table in date
   * order (it cannot know how rare the full text is).
   */
  private async search(query: FileListQuery, q: string) {
    const wanted = query.limit + 1;
    const pattern = `%${escapeLike(q)}%`;
    const others = { ...query, q: undefined };
    const sample = await this.pathSample();
    // With a sample, how common the text is decides how far to walk; without one (a small
    // table) a fixed window.
    const window = sample ? walkWindow(sample.containing(q), wanted, this.searchWindow) : this.searchWindow;
    if (window > 0) {
      const recent = await this.db
        .selectFrom(this.select(others, query.cursor).limit(window).as('w'))
        .selectAll()
        .where(sql<boolean>`path ilike ${pattern} escape '\\'`)
        .orderBy('detected_at', 'desc')
        .orderBy('id', 'desc')
        .limit(wanted)
        .execute();
      if (recent.length === wanted) return recent;
      const walked = await this.db
        .selectFrom(this.select(others, query.cursor).clearSelect().select('id').limit(window).as('w'))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      // Fewer files than the window: every one was tested, so these are all the matches.
      if (Number(walked?.n ?? 0) < window) return recent;
    }

    const grams = chooseGrams(q, sample);
    if (grams.length === 0) return this.select(query, query.cursor).limit(wanted).execute();
    return this.db.transaction().execute(async (trx) => {
      // Bitmap scans only: the index finds the candidates, a sort orders them.
      await sql`set local enable_indexscan = off; set local enable_seqscan = off`.execute(trx);
      return new FileStore(trx).select(query, query.cursor, grams).limit(wanted).execute();
    });
  }

  /**
   * The grams of `q` worth looking up, for queries that leave the plan to PostgreSQL
   * (which weighs the index condition with its statistics of the index).
   */
  private async gramsFor(q: string | undefined): Promise<Gram[]> {
    return q === undefined ? [] : chooseGrams(q, await this.pathSample());
  }

  /** A sample of paths, refreshed in the background when old; undefined for small tables. */
  private async pathSample(): Promise<PathSample | undefined> {
    const now = Date.now();
    if (!this.sample || now - this.sample.at > this.sampleEveryMs) {
      this.sampling ??= this.takeSample().finally(() => {
        this.sampling = undefined;
      });
      // The first search waits for a sample; later ones use the old one meanwhile.
      if (!this.sample) await this.sampling;
    }
    return this.sample?.value;
  }

  private async takeSample(): Promise<void> {
    const stats = await sql<{ rows: number }>`select reltuples::float8 as rows from pg_class where oid = 'files'::regclass`.execute(this.db);
    const rows = stats.rows[0]?.rows ?? 0;
    if (rows < this.sampleMinRows) {
      this.sample = { at: Date.now(), value: undefined };
      return;
    }
    const percent = Math.min(100, (100 * this.sampleSize) / rows);
    const sampled = await sql<{ p: string }>`select lower(path) as p from files tablesample system (${sql.lit(percent)}) limit ${this.sampleSize * 2}`.execute(this.db);
    this.sample = { at: Date.now(), value: new PathSample(sampled.rows.map((r) => r.p)) };
  }

  /**
   * Every file matching `filter`, newest first, in pages of `pageSize` read one after
   * the other by keyset (each a short indexed query, no long-held cursor), at most `max`.
   */
  async *scan(filter: FileFilter, options: { max: number; pageSize?: number }): AsyncGenerator<FileItem[]> {
    const pageSize = options.pageSize ?? 2000;
    let after: FileCursor | undefined;
    let left = options.max;
    const grams = await this.gramsFor(filter.q);
    while (left > 0) {
      const want = Math.min(pageSize, left);
      const rows = await this.select(filter, after, grams).limit(want).execute();
      if (rows.length > 0) yield rows.map(toFileItem);
      const last = rows.at(-1);
      if (!last || rows.length < want) return;
      left -= rows.length;
      after = { detectedAt: last.cursor_at, id: last.id };
    }
  }

  /** True when more than `n` files match `filter` (reads at most n + 1 index entries). */
  async moreThan(filter: FileFilter, n: number): Promise<boolean> {
    const row = await this.select(filter, undefined, await this.gramsFor(filter.q)).offset(n).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The files of `filter` after `after`, newest first. `grams` (runs of `filter.q`) adds
   * the path-gram index's condition, which must be written exactly as the index is
   * (migration 0006) for the planner to use it; the full text is still tested.
   */
  private select(filter: FileFilter, after: FileCursor | undefined, grams: readonly Gram[] = []) {
    let select = this.db
      .selectFrom('files')
      .select(ITEM_COLUMNS)
      // The sort key at full precision, for the cursor: a Date would drop the microseconds.
      .select(isoMicros('detected_at').as('cursor_at'));
    if (filter.instrument !== undefined) select = select.where('instrument', '=', filter.instrument);
    if (filter.status !== undefined) select = select.where('status', '=', filter.status);
    if (filter.since !== undefined) select = select.where('detected_at', '>=', filter.since);
    if (filter.until !== undefined) select = select.where('detected_at', '<', filter.until);
    if (filter.q !== undefined) {
      const pattern = `%${escapeLike(filter.q)}%`;
      select = select.where(sql<boolean>`path ilike ${pattern} escape '\\'`);
    }
    if (grams.length > 0) select = select.where(holdsGrams(grams));
    if (after !== undefined) {
      // A row comparison matches the (detected_at desc, id desc) indexes, so the next page is an index range scan.
      select = select.where(sql<boolean>`(detected_at, id) < (${after.detectedAt}::timestamptz, ${after.id})`);
    }
    return select.orderBy('detected_at', 'desc').orderBy('id', 'desc');
  }

  /** One file, or undefined when there is none with this id. */
  async get(id: string): Promise<FileItem | undefined> {
    const row = await this.db.selectFrom('files').select(ITEM_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? toFileItem(row) : undefined;
  }

  /**
   * A file as it was detected, from its row: what an uploader needs to try its upload
   * again (`command.retry` with step `upload`); undefined when there is no such file.
   */
  async detection(id: string): Promise<UploadRetryArgs['detected'] | undefined> {
    const row = await this.db
      .selectFrom('files')
      .select(['id', 'instrument', 'path', 'root', 'kind', 'size', 'sha256', 'mtime', 'detected_at', 'zone', 'manifest'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      fileId: row.id,
      instrument: row.instrument,
      path: row.path,
      root: row.root,
      kind: row.kind,
      size: row.size,
      sha256: row.sha256,
      mtime: row.mtime.toISOString(),
      detectedAt: row.detected_at.toISOString(),
      ...(row.zone ? { zone: row.zone } : {}),
      ...(Array.isArray(row.manifest) ? { manifest: row.manifest } : {}),
    };
  }

  /** One file with its timeline (in order), its jobs and its manifest, or undefined. */
  async detail(id: string): Promise<FileDetail | undefined> {
    const row = await this.db.selectFrom('files').select([...ITEM_COLUMNS, 'manifest']).where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const [events, jobs] = await Promise.all([
      this.db
        .selectFrom('file_events')
        .select(['event', 'status', 'at', 'instance', 'trace_id', 'details'])
        .where('file_id', '=', id)
        .orderBy('at')
        .orderBy('id')
        .execute(),
      this.db.selectFrom('jobs').selectAll().where('file_id', '=', id).orderBy('queued_at').orderBy('id').execute(),
    ]);
    const manifest = Array.isArray(row.manifest) ? [...row.manifest].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) : null;
    return { ...toFileItem(row), timeline: toTimeline(events), jobs: jobs.map(toJobItem), manifest };
  }

  /**
   * Files changed after `from` (by `updated_at`, then id when `from.id` is given), oldest
   * change first, at most `limit`: what the live feed polls, served by the `updated_at`
   * index. `mark` is the change time to the microsecond, to continue from exactly.
   */
  async changedSince(from: ChangePosition, limit: number): Promise<Changed<FileItem>[]> {
    let select = this.db.selectFrom('files').select(ITEM_COLUMNS).select(sql<string>`${MARK}`.as('mark'));
    select = from.id === undefined ? select.where(sql<boolean>`updated_at > ${from.at}::timestamptz`) : select.where(sql<boolean>`(updated_at, id) > (${from.at}::timestamptz, ${from.id})`);
    const rows = await select.orderBy('updated_at').orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ item: toFileItem(r), id: r.id, mark: r.mark }));
  }

  /** The newest change time (microseconds), where a live feed starts; undefined when there are no files. */
  async lastChange(): Promise<string | undefined> {
    const row = await this.db.selectFrom('files').select(sql<string>`${MARK}`.as('mark')).orderBy('updated_at', 'desc').limit(1).executeTakeFirst();
    return row?.mark;
  }
}

/** Where a change feed continues: after this time (microsecond ISO), and after this id at that time. */
export interface ChangePosition {
  at: string;
  id?: string | undefined;
}

/** One changed row: its API form, its id and its change time. */
export interface Changed<T> {
  item: T;
  id: string;
  mark: string;
}

/**
 * A timestamptz column as UTC ISO text with microseconds (a JavaScript Date would round
 * to the millisecond and repeat or skip rows at a page or feed boundary).
 */
export function isoMicros(column: string) {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** `updated_at` as UTC ISO text with microseconds. */
export const MARK = isoMicros('updated_at');
