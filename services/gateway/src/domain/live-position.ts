import { decodePair, encodePair, isIsoUtc } from './cursor.js';

/**
 * Positions in the live feed, sent as the SSE event id so a browser that reconnects
 * (with `Last-Event-ID`) continues where it left off. A position is the change time of
 * the last file and of the last alert it saw, in microseconds (ISO text), base64url.
 */
export interface LivePosition {
  files: string;
  alerts: string;
}

/** The event id for `position`. */
export function encodePosition(position: LivePosition): string {
  return encodePair(position.files, position.alerts);
}

/** The position in an event id, or undefined when it is not one this gateway made. */
export function decodePosition(text: string | undefined): LivePosition | undefined {
  const pair = text === undefined ? undefined : decodePair(text, 200);
  if (!pair || !isIsoUtc(pair[0]) || !isIsoUtc(pair[1])) return undefined;
  return { files: pair[0], alerts: pair[1] };
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
