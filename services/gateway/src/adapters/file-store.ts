import type { Database } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { encodeCursor } from '../domain/cursor.js';
import { toFileItem, toJobItem, toTimelineEntry, type FileDetail, type FileItem } from '../domain/file-view.js';
import type { FileListQuery } from '../domain/list-query.js';

/** One page of files and the cursor of the next one (null on the last page). */
export interface FilePage {
  items: FileItem[];
  nextCursor: string | null;
}

/** The file columns the API shows; `root` and `manifest` stay internal. */
const ITEM_COLUMNS = [
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
 * Read access to the files the monitor projects into PostgreSQL. The gateway never
 * writes these tables: the monitor owns them.
 */
export class FileStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Newest first by (detected_at, id), after `query.cursor` when given. */
  async list(query: FileListQuery): Promise<FilePage> {
    let select = this.db
      .selectFrom('files')
      .select(ITEM_COLUMNS)
      // The sort key at full precision, for the cursor: a Date would drop the microseconds.
      .select(sql<string>`to_char(detected_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('cursor_at'));
    if (query.instrument !== undefined) select = select.where('instrument', '=', query.instrument);
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.since !== undefined) select = select.where('detected_at', '>=', query.since);
    if (query.q !== undefined) {
      const pattern = `%${escapeLike(query.q)}%`;
      select = select.where(sql<boolean>`path ilike ${pattern} escape '\\'`);
    }
    if (query.cursor !== undefined) {
      // A row comparison matches the (detected_at desc, id desc) indexes, so the next page is an index range scan.
      select = select.where(sql<boolean>`(detected_at, id) < (${query.cursor.detectedAt}::timestamptz, ${query.cursor.id})`);
    }
    // One row more than asked tells whether another page exists without a count.
    const rows = await select.orderBy('detected_at', 'desc').orderBy('id', 'desc').limit(query.limit + 1).execute();
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(toFileItem),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ detectedAt: last.cursor_at, id: last.id }) : null,
    };
  }

  /** One file, or undefined when there is none with this id. */
  async get(id: string): Promise<FileItem | undefined> {
    const row = await this.db.selectFrom('files').select(ITEM_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? toFileItem(row) : undefined;
  }

  /** One file with its timeline (in order) and its jobs, or undefined. */
  async detail(id: string): Promise<FileDetail | undefined> {
    const file = await this.get(id);
    if (!file) return undefined;
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
    return { ...file, timeline: events.map(toTimelineEntry), jobs: jobs.map(toJobItem) };
  }
}
