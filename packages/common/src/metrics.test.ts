import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counter, gauge, histogram, serveMetrics, startDefaultMetrics, type MetricsServer } from './metrics.js';

/** Parses the exposition format into `name{labels} value` pairs; throws on a malformed line. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!match) throw new Error(`malformed metrics line: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

describe('metrics', () => {
  let server: MetricsServer;
  beforeAll(async () => {
    startDefaultMetrics({ service: 'test', instance: 'i1' });
    server = await serveMetrics({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  it('serves counters, gauges and histograms with the service labels', async () => {
    counter('ferry_test_things_total', 'Things.', ['kind']).inc({ kind: 'a' }, 3);
    // Asking again by name returns the same metric rather than failing on a duplicate.
    counter('ferry_test_things_total', 'Things.', ['kind']).inc({ kind: 'a' });
    gauge('ferry_test_depth', 'Depth.', [], (g) => g.set(7));
    histogram('ferry_test_seconds', 'Seconds.').observe(0.2);
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const samples = parse(await res.text());
    expect(samples.get('ferry_test_things_total{kind="a",service="test",instance="i1"}')).toBe(4);
    expect(samples.get('ferry_test_depth{service="test",instance="i1"}')).toBe(7);
    expect(samples.get('ferry_test_seconds_count{service="test",instance="i1"}')).toBe(1);
    expect([...samples.keys()].some((k) => k.startsWith('process_resident_memory_bytes'))).toBe(true);
  });

  it('answers 404 for anything but GET /metrics', async () => {
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});
