import { describe, expect, it } from 'vitest';
import { encodeCursor } from './cursor.js';
import { DEFAULT_LIMIT, MAX_LIMIT, parseFileListQuery } from './list-query.js';

function issuesOf(query: Record<string, unknown>) {
  const result = parseFileListQuery(query);
  if (result.ok) throw new Error(`expected ${JSON.stringify(query)} to be refused`);
  return result.issues;
}

describe('parseFileListQuery', () => {
  it('defaults the limit and leaves filters unset', () => {
    expect(parseFileListQuery({})).toEqual({ ok: true, value: { limit: DEFAULT_LIMIT } });
  });

  it('parses every parameter', () => {
    const cursor = { detectedAt: '2025-01-01T00:00:00.5Z', id: 'f1' };
    const result = parseFileListQuery({
      instrument: 'ms-1',
      status: 'failed',
      q: '50%_done',
      since: '2025-01-31T12:00:00+02:00',
      limit: '500',
      cursor: encodeCursor(cursor),
    });
    expect(result).toEqual({
      ok: true,
      value: { instrument: 'ms-1', status: 'failed', q: '50%_done', since: new Date('2025-01-31T10:00:00Z'), limit: 500, cursor },
    });
  });

  it('takes a plain date for since, as midnight UTC', () => {
    const result = parseFileListQuery({ since: '2025-02-01' });
    expect(result.ok && result.value.since?.toISOString()).toBe('2025-02-01T00:00:00.000Z');
  });

  it.each([
    ['status', { status: 'lost' }, /must be one of detected, uploading/],
    ['limit', { limit: '0' }, /from 1 to 500/],
    ['limit', { limit: String(MAX_LIMIT + 1) }, /at most 500/],
    ['limit', { limit: 'ten' }, /whole number/],
    ['limit', { limit: '1.5' }, /whole number/],
    ['since', { since: 'yesterday' }, /ISO 8601/],
    ['since', { since: '2025-01-31T12:00:00' }, /ISO 8601/],
    ['cursor', { cursor: 'not-a-cursor' }, /not a cursor/],
    ['instrument', { instrument: 'a.b' }, /instrument name/],
    ['q', { q: '' }, /empty/],
    ['q', { q: 'x'.repeat(257) }, /at most 256/],
    ['status', { status: ['done', 'failed'] }, /given once/],
    ['sort', { sort: 'asc' }, /not a known parameter/],
  ])('names %s in the issue for %j', (param, query, message) => {
    const issues = issuesOf(query);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.param).toBe(param);
    expect(issues[0]?.message).toMatch(message);
  });

  it('reports every bad parameter at once', () => {
    expect(issuesOf({ status: 'x', limit: '-1', extra: '1' }).map((i) => i.param).sort()).toEqual(['extra', 'limit', 'status']);
  });
});
