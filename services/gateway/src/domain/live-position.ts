/**
 * Positions in the live feed, sent as the SSE event id so a browser that reconnects
 * (with `Last-Event-ID`) continues where it left off. A position is the change time of
 * the last file and of the last alert it saw, in microseconds (ISO text), base64url.
 */
export interface LivePosition {
  files: string;
  alerts: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** The event id for `position`. */
export function encodePosition(position: LivePosition): string {
  return Buffer.from(JSON.stringify([position.files, position.alerts]), 'utf8').toString('base64url');
}

/** The position in an event id, or undefined when it is not one this gateway made. */
export function decodePosition(text: string | undefined): LivePosition | undefined {
  if (text === undefined || text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    // Not JSON inside: an id from elsewhere; the client just gets no replay.
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [files, alerts] = value as unknown[];
  if (typeof files !== 'string' || typeof alerts !== 'string') return undefined;
  if (!ISO_UTC.test(files) || !ISO_UTC.test(alerts) || Number.isNaN(Date.parse(files)) || Number.isNaN(Date.parse(alerts))) return undefined;
  return { files, alerts };
}

/** The later of two microsecond ISO times (same format, so text order is time order). */
export function laterMark(a: string, b: string): string {
  return normalise(a) >= normalise(b) ? a : b;
}

function normalise(mark: string): string {
  // Pad the fraction to six digits so "…05Z" and "…05.5Z" compare by time.
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(mark);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z` : mark;
}
