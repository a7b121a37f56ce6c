import { describe, expect, it } from 'vitest';
import { readCookie, sessionCookie } from './cookies.js';
import { csvCell, csvLine } from './csv.js';
import { forecastDisk } from './disk-forecast.js';
import { decodePosition, encodePosition, laterMark } from './live-position.js';

describe('csv', () => {
  it('quotes what needs quoting and defuses formulas', () => {
    expect(csvLine(['a', 1, null, undefined, true])).toBe('a,1,,,true\r\n');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('-x,y')).toBe(`"'-x,y"`);
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});

describe('cookies', () => {
  it('reads one cookie among several', () => {
    expect(readCookie('a=1; ferry_session=fss_abc; b=2', 'ferry_session')).toBe('fss_abc');
    expect(readCookie('ferry_session="fss_q"', 'ferry_session')).toBe('fss_q');
    expect(readCookie('other=1', 'ferry_session')).toBeUndefined();
    expect(readCookie(undefined, 'ferry_session')).toBeUndefined();
    expect(sessionCookie('v', { maxAgeSeconds: 10, secure: true })).toBe('ferry_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=10; Secure');
  });
});

describe('disk forecast', () => {
  const now = Date.UTC(2025, 0, 1);
  it('needs enough samples over enough time', () => {
    expect(forecastDisk(undefined, 100, now)).toBeNull();
    expect(forecastDisk({ samples: 3, firstAt: 0, lastAt: 3_600_000, slope: -1 }, 100, now)).toBeNull();
    expect(forecastDisk({ samples: 10, firstAt: 0, lastAt: 60_000, slope: -1 }, 100, now)).toBeNull();
  });
  it('says when a filling disk is full, and nothing for a steady one', () => {
    expect(forecastDisk({ samples: 5, firstAt: 0, lastAt: 3_600_000, slope: -1 }, 3_600_000, now)).toEqual({ freeBytesPerHour: -3_600_000, fullAt: new Date(now + 3_600_000).toISOString(), samples: 5, spanMs: 3_600_000 });
    expect(forecastDisk({ samples: 5, firstAt: 0, lastAt: 3_600_000, slope: 2 }, 10, now)?.fullAt).toBeNull();
    expect(forecastDisk({ samples: 5, firstAt: 0, lastAt: 3_600_000, slope: -1e-300 }, 1e15, now)?.fullAt).toBeNull();
  });
});

describe('live positions', () => {
  it('round-trips and refuses anything else', () => {
    const p = { files: '2025-01-01T00:00:00.123456Z', alerts: '2025-01-01T00:00:00Z' };
    expect(decodePosition(encodePosition(p))).toEqual(p);
    expect(decodePosition(undefined)).toBeUndefined();
    expect(decodePosition('nope!')).toBeUndefined();
    expect(decodePosition(Buffer.from('["x","y"]').toString('base64url'))).toBeUndefined();
  });
  it('compares microsecond times', () => {
    expect(laterMark('2025-01-01T00:00:05Z', '2025-01-01T00:00:05.000001Z')).toBe('2025-01-01T00:00:05.000001Z');
    expect(laterMark('2025-01-01T00:00:05.5Z', '2025-01-01T00:00:05.41Z')).toBe('2025-01-01T00:00:05.5Z');
  });
});
