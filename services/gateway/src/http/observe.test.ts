import { createLogger, setupTelemetry, SpanKind, type TelemetryOptions } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { requestStatsSchema } from './schemas.js';

type Exporter = NonNullable<TelemetryOptions['exporters']>[number];
type ExportedSpan = Parameters<Exporter['export']>[0][number];

// One tracer provider for this file (it is process-wide), keeping every finished span.
const spans: ExportedSpan[] = [];
const exporter: Exporter = {
  export(batch, done) {
    spans.push(...batch);
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};
let telemetry: { shutdown(): Promise<void> };
beforeAll(() => {
  telemetry = setupTelemetry({ service: 'gateway', exporters: [exporter] });
});
afterAll(async () => {
  await telemetry.shutdown();
});

describe('request statistics', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('counts every answer by route pattern, method, status and client, and serves them', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'f1' }, { id: 'f2' }]);
    const auth = await gw.bearer('viewer');
    await request(gw.app).get('/api/v1/files/f1').set('Authorization', auth).expect(200);
    await request(gw.app).get('/api/v1/files/f2').set('Authorization', auth).expect(200);
    await request(gw.app).get('/api/v1/files/nope').set('Authorization', auth).expect(404);
    await request(gw.app).get('/api/v1/files/f1').expect(401);
    await request(gw.app).get('/api/v1/no/such/thing').set('Authorization', auth).expect(404);
    await request(gw.app).get('/health').expect(200);

    const res = await request(gw.app).get('/api/v1/stats/requests').set('Authorization', auth).expect(200);
    const stats = requestStatsSchema.parse(res.body);
    expect(stats.hours).toBe(24);
    // The stats request itself is counted when it is done, so it is not in its own answer.
    expect(stats.total).toMatchObject({ count: 6, clientErrors: 3, serverErrors: 0 });
    expect(stats.routes).toContainEqual({ method: 'GET', route: '/api/v1/files/:id', count: 4, clientErrors: 2, serverErrors: 0, avgMs: expect.any(Number) });
    expect(stats.routes).toContainEqual(expect.objectContaining({ method: 'GET', route: '(unmatched)', count: 1 }));
    expect(stats.routes).toContainEqual(expect.objectContaining({ method: 'GET', route: '/health', count: 1 }));
    expect(stats.clients).toEqual([
      { client: 'test-viewer', count: 4, clientErrors: 2, serverErrors: 0, avgMs: expect.any(Number) },
      { client: expect.stringMatching(/^anonymous@(::ffff:)?127\.0\.0\.1$/), count: 2, clientErrors: 1, serverErrors: 0, avgMs: expect.any(Number) },
    ]);
    expect(stats.failures).toContainEqual({ method: 'GET', route: '/api/v1/files/:id', status: 401, client: expect.stringMatching(/^anonymous@/), count: 1 });
    expect(stats.failures).toContainEqual({ method: 'GET', route: '/api/v1/files/:id', status: 404, client: 'test-viewer', count: 1 });
    expect(stats.hourly).toHaveLength(1);
    expect(stats.hourly[0]?.count).toBe(6);
  });

  it('adds to the same hourly rows on every flush', async () => {
    gw = await startGateway();
    const auth = await gw.bearer('viewer');
    await request(gw.app).get('/api/v1/alerts').set('Authorization', auth).expect(200);
    await gw.gateway.stats.flush();
    await request(gw.app).get('/api/v1/alerts').set('Authorization', auth).expect(200);
    await gw.gateway.stats.flush();
    const rows = await gw.db.selectFrom('request_stats').selectAll().where('route', '=', '/api/v1/alerts').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ method: 'GET', status: 200, client: 'test-viewer', count: 2 });
    expect(rows[0]?.total_ms).toBeGreaterThan(0);
    expect(rows[0]?.hour.getUTCMinutes()).toBe(0);
  });

  it('validates hours and needs a token', async () => {
    gw = await startGateway();
    const auth = await gw.bearer();
    for (const bad of ['hours=0', `hours=${90 * 24 + 1}`, 'hours=x', 'days=1']) await request(gw.app).get(`/api/v1/stats/requests?${bad}`).set('Authorization', auth).expect(400);
    await request(gw.app).get('/api/v1/stats/requests').expect(401);
    const week = await request(gw.app).get('/api/v1/stats/requests?hours=168').set('Authorization', auth).expect(200);
    expect(Date.parse(week.body.to as string) - Date.parse(week.body.from as string)).toBe(168 * 3_600_000);
  });
});

describe('GET /metrics', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('serves the request duration histogram by method, route pattern and status, without a token', async () => {
    gw = await startGateway();
    await insertFiles(gw.db, [{ id: 'f1' }]);
    await request(gw.app).get('/api/v1/files/f1').set('Authorization', await gw.bearer()).expect(200);
    const res = await request(gw.app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^ferry_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/v1\/files\/:id",status="200"\} \d+$/m);
    expect(res.text).toMatch(/^ferry_http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/files\/:id",status="200"\} [1-9]\d*$/m);
    expect(res.text).not.toContain('route="/api/v1/files/f1"');
  });

  it('needs METRICS_TOKEN as bearer when one is set', async () => {
    gw = await startGateway({ options: { metricsToken: 'metrics-secret-0123456789' } });
    const missing = await request(gw.app).get('/metrics').expect(401);
    expect(missing.body.message).toMatch(/METRICS_TOKEN/);
    await request(gw.app).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);
    // An API token is not the metrics token.
    await request(gw.app).get('/metrics').set('Authorization', await gw.bearer('admin')).expect(401);
    await request(gw.app).get('/metrics').set('Authorization', 'Bearer metrics-secret-0123456789').expect(200);
  });
});

describe('HTTP tracing', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('starts a SERVER span per request named by route, continuing the caller’s traceparent, and logs carry its trace id', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
    gw = await startGateway({ logger: createLogger({ service: 'gateway', level: 'info', destination }) });
    await insertFiles(gw.db, [{ id: 'f1' }]);
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentId = 'b7ad6b7169203331';
    await request(gw.app).get('/api/v1/files/f1').set('Authorization', await gw.bearer()).set('traceparent', `00-${traceId}-${parentId}-01`).expect(200);
    const span = await waitFor('the request span', () => spans.find((s) => s.spanContext().traceId === traceId));
    expect(span.name).toBe('GET /api/v1/files/:id');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.parentSpanContext?.spanId).toBe(parentId);
    expect(span.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/api/v1/files/:id', 'http.response.status_code': 200 });

    // A request with a JSON body: its handler's own log line is in the trace too.
    const { token } = await (await import('../adapters/token-store.js')).createApiToken(gw.db, { name: 'traced', role: 'viewer' });
    const otherTrace = '1af7651916cd43dd8448eb211c80319d';
    await request(gw.app).post('/api/v1/session').set('traceparent', `00-${otherTrace}-${parentId}-01`).send({ token }).expect(200);
    await waitFor('the sign-in span', () => spans.find((s) => s.spanContext().traceId === otherTrace && s.name === 'POST /api/v1/session'));
    await waitFor('the log lines', () => lines.some((l) => l.includes('signed in')));
    const logs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'request', route: '/api/v1/files/:id', status: 200, trace_id: traceId }));
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'signed in', trace_id: otherTrace }));
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'request', route: '/api/v1/session', trace_id: otherTrace }));
  });

  it('starts a new trace without traceparent and marks server errors', async () => {
    gw = await startGateway();
    await request(gw.app).get('/nowhere').expect(404);
    const span = await waitFor('the 404 span', () => spans.find((s) => s.name === 'GET (unmatched)'));
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes['http.response.status_code']).toBe(404);
  });
});
