import { FILE_STATUSES, type FileStatus } from '@ferry/common';
import { z } from 'zod';
import { decodeCursor, type FileCursor } from './cursor.js';

/** Page size when `limit` is not given. */
export const DEFAULT_LIMIT = 50;
/** Largest page a client may ask for; bounds the work and the response of one request. */
export const MAX_LIMIT = 500;

/** A validated `GET /api/v1/files` query. */
export interface FileListQuery {
  instrument?: string;
  status?: FileStatus;
  /** Case-insensitive substring of the path, matched literally (no wildcards). */
  q?: string;
  since?: Date;
  /** Exclusive upper bound of `detectedAt`. */
  until?: Date;
  limit: number;
  cursor?: FileCursor;
  /** `csv` streams every matching row (up to {@link CSV_MAX_ROWS}) instead of one page. */
  format?: 'json' | 'csv';
}

/** Most rows one CSV export holds; a larger result is cut and says so in a header. */
export const CSV_MAX_ROWS = 100_000;

/** One rejected query parameter, named as the client sent it. */
export interface ParamIssue {
  param: string;
  message: string;
}

/** The outcome of validating request parameters: the value, or every problem found. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: ParamIssue[] };

// Express's simple query parser turns a repeated parameter into an array; saying so is
// clearer than zod's "expected string, received array".
export const once = z.string({ error: (issue) => (Array.isArray(issue.input) ? 'must be given once' : 'must be text') });

const isoDateTime = z.iso.datetime({ offset: true });
const isoDate = z.iso.date();
const DAY_MS = 86_400_000;

/**
 * A time parameter: an ISO 8601 date-time with offset, or a plain date (midnight UTC;
 * for an upper bound, the end of that day, so `since=D&until=D` is the whole of day D).
 */
export function timeParam(bound: 'lower' | 'upper') {
  return once
    .refine((v) => isoDateTime.safeParse(v).success || isoDate.safeParse(v).success, 'must be an ISO 8601 date-time with offset, such as 2025-01-31T12:00:00Z, or a date')
    .transform((v) => (bound === 'upper' && isoDate.safeParse(v).success ? new Date(Date.parse(v) + DAY_MS) : new Date(v)));
}

/** A whole-number parameter from `min` to `max`. */
export function intParam(min: number, max: number) {
  return once
    .regex(/^\d{1,9}$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `must be a whole number from ${min} to ${max}`).max(max, `must be at most ${max}`));
}

/** The query of `GET /api/v1/files`, as validated and as documented. */
/** A `cursor` parameter: a nextCursor this API returned, decoded. */
export const cursorParam = once.transform((v, ctx) => {
  const cursor = decodeCursor(v);
  if (!cursor) {
    ctx.addIssue({ code: 'custom', message: 'is not a cursor returned by this API (pass nextCursor unchanged)' });
    return z.NEVER;
  }
  return cursor;
});

export const listQuerySchema = z
  .strictObject({
    instrument: once.pipe(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an instrument name: letters, digits, - and _ (1 to 64)')).meta({ description: 'Only files of this instrument.' }),
    status: once.pipe(z.enum(FILE_STATUSES, { error: `must be one of ${FILE_STATUSES.join(', ')}` })).meta({ description: 'Only files in this status.' }),
    q: once.pipe(z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters')).meta({ description: 'Case-insensitive text in the path, matched literally.' }),
    since: timeParam('lower').meta({ description: 'Detected at or after this time (a date means its midnight UTC).' }),
    until: timeParam('upper').meta({ description: 'Detected before this time; a date includes that whole day (UTC).' }),
    limit: once
      .regex(/^\d{1,6}$/, `must be a whole number from 1 to ${MAX_LIMIT}`)
      .transform(Number)
      .pipe(z.number().min(1, `must be a whole number from 1 to ${MAX_LIMIT}`).max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`))
      .meta({ description: `Page size, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}); not with format=csv.` }),
    cursor: cursorParam.meta({ description: 'The nextCursor of the previous page.' }),
    format: once.pipe(z.enum(['json', 'csv'], { error: 'must be json or csv' })).meta({ description: `csv: every matching row as CSV (at most ${CSV_MAX_ROWS}).` }),
  })
  .partial()
  .superRefine((q, ctx) => {
    if (q.since && q.until && q.until.getTime() <= q.since.getTime()) ctx.addIssue({ code: 'custom', path: ['until'], message: 'must be later than since' });
    if (q.format === 'csv') {
      // An export is every matching row: paging parameters there would silently mean nothing.
      if (q.limit !== undefined) ctx.addIssue({ code: 'custom', path: ['limit'], message: 'does not apply to format=csv, which exports every matching row' });
      if (q.cursor !== undefined) ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'does not apply to format=csv, which exports every matching row' });
    }
  });

/** Validates the query of `GET /api/v1/files`; unknown parameters are refused so typos do not pass silently. */
export function parseFileListQuery(query: unknown): ParseResult<FileListQuery> {
  const result = listQuerySchema.safeParse(query ?? {});
  if (!result.success) return { ok: false, issues: toParamIssues(result.error, '(query)') };
  return { ok: true, value: toFileListQuery(result.data) };
}

/** The validated parameters as a query: the ones not given left out, the default page size filled in. */
export function toFileListQuery(data: z.infer<typeof listQuerySchema>): FileListQuery {
  const { limit, ...rest } = data;
  return { ...(Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Omit<FileListQuery, 'limit'>), limit: limit ?? DEFAULT_LIMIT };
}

/** Zod issues as rejected parameters, naming unknown ones individually; `root` names the whole input (`(query)`, `body`). */
export function toParamIssues(error: z.ZodError, root: string): ParamIssue[] {
  const issues: ParamIssue[] = [];
  for (const issue of error.issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ param: `${at ? `${at}.` : ''}${key}`, message: root === 'body' ? 'is not a known field' : 'is not a known parameter' });
    } else {
      issues.push({ param: at || root, message: issue.message });
    }
  }
  return issues;
}
