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

/** A UTC ISO 8601 time with up to six fractional digits. */
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const MAX_ID_LENGTH = 256;

/** True for a microsecond ISO time as this gateway writes them. */
export function isIsoUtc(text: string): boolean {
  return ISO_UTC.test(text) && !Number.isNaN(Date.parse(text));
}

/** Two strings as one opaque base64url token (cursors, live positions). */
export function encodePair(first: string, second: string): string {
  return Buffer.from(JSON.stringify([first, second]), 'utf8').toString('base64url');
}

/** The two strings inside a token of {@link encodePair}, or undefined when it is not one (or longer than `maxLength`). */
export function decodePair(text: string, maxLength: number): [string, string] | undefined {
  if (text.length > maxLength || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    // Not JSON inside: a truncated or hand-made token, not one this gateway made.
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [first, second] = value as unknown[];
  return typeof first === 'string' && typeof second === 'string' ? [first, second] : undefined;
}

/** An opaque base64url string for `cursor`. */
export function encodeCursor(cursor: FileCursor): string {
  return encodePair(cursor.detectedAt, cursor.id);
}

/** The cursor inside `text`, or undefined when it is not one this gateway made. */
export function decodeCursor(text: string): FileCursor | undefined {
  const pair = decodePair(text, 1024);
  if (!pair) return undefined;
  const [detectedAt, id] = pair;
  if (!isIsoUtc(detectedAt) || id.length === 0 || id.length > MAX_ID_LENGTH) return undefined;
  return { detectedAt, id };
}
