/**
 * Keyset cursors for the file list. A cursor names the last row of a page by its sort
 * key (detected_at, id); the next page starts strictly after it, so rows inserted while
 * a client pages never shift what it sees, unlike an offset.
 *
 * The time is kept as text with microseconds: PostgreSQL stores timestamptz to the
 * microsecond and a JavaScript Date would round it to the millisecond, which would
 * repeat or skip rows at a page boundary.
 */

/** The sort key of the last row of a page. */
export interface FileCursor {
  /** UTC ISO 8601 time with up to six fractional digits, e.g. `2025-01-02T03:04:05.123456Z`. */
  detectedAt: string;
  id: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const MAX_ID_LENGTH = 256;

/** An opaque base64url string for `cursor`. */
export function encodeCursor(cursor: FileCursor): string {
  return Buffer.from(JSON.stringify([cursor.detectedAt, cursor.id]), 'utf8').toString('base64url');
}

/** The cursor inside `text`, or undefined when it is not one this gateway made. */
export function decodeCursor(text: string): FileCursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length > 1024) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    // Not JSON inside: a truncated or hand-made cursor, reported to the client as such.
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [detectedAt, id] = value as unknown[];
  if (typeof detectedAt !== 'string' || typeof id !== 'string') return undefined;
  if (!ISO_UTC.test(detectedAt) || Number.isNaN(Date.parse(detectedAt))) return undefined;
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return undefined;
  return { detectedAt, id };
}
