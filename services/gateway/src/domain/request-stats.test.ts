import { describe, expect, it } from 'vitest';
import { RequestCounter } from './request-stats.js';

const sample = (over: Partial<Parameters<RequestCounter['add']>[0]> = {}) => ({
  at: Date.UTC(2025, 0, 1, 10, 30),
  route: '/api/v1/files/:id',
  method: 'GET',
  status: 200,
  client: 'ci',
  durationMs: 5,
  ...over,
});

describe('RequestCounter', () => {
  it('adds answers up per hour, route, method, status and client', () => {
    const counter = new RequestCounter();
    counter.add(sample());
    counter.add(sample({ durationMs: 7 }));
    counter.add(sample({ at: Date.UTC(2025, 0, 1, 11, 0) }));
    counter.add(sample({ status: 404 }));
    const counts = counter.drain();
    expect(counts).toHaveLength(3);
    expect(counts[0]).toEqual({ hour: new Date(Date.UTC(2025, 0, 1, 10)), route: '/api/v1/files/:id', method: 'GET', status: 200, client: 'ci', count: 2, totalMs: 12 });
    expect(counter.size).toBe(0);
  });

  it('counts new clients as "other" once full, and restores a failed flush', () => {
    const counter = new RequestCounter(2);
    counter.add(sample({ client: 'a' }));
    counter.add(sample({ client: 'b' }));
    counter.add(sample({ client: 'c' }));
    counter.add(sample({ client: 'a' }));
    const counts = counter.drain();
    expect(counts.map((c) => [c.client, c.count])).toEqual([
      ['a', 2],
      ['b', 1],
      ['other', 1],
    ]);
    counter.add(sample({ client: 'a' }));
    counter.restore(counts);
    expect(counter.drain().map((c) => [c.client, c.count])).toEqual([['a', 3], ['b', 1]]);
  });
});
