import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTracer, injectTraceContext, setupTelemetry, withSpan, type Telemetry } from './tracing.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}
interface OtlpRequest {
  resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[];
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

describe('OTLP export', () => {
  const received: { contentType: string | undefined; body: OtlpRequest }[] = [];
  let server: Server;
  let telemetry: Telemetry;

  beforeAll(async () => {
    server = createServer((req, res) => {
      void body(req).then((raw) => {
        if (req.method === 'POST' && req.url === '/v1/traces') received.push({ contentType: req.headers['content-type'], body: JSON.parse(raw.toString('utf8')) as OtlpRequest });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    telemetry = setupTelemetry({ service: 'tracing-test', instance: 'i1', otlpEndpoint: `http://127.0.0.1:${port}/`, batchDelayMs: 50 });
  });
  afterAll(async () => {
    await telemetry.shutdown();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends spans as OTLP/JSON to <endpoint>/v1/traces within the batch delay, with the service name', async () => {
    const carrier = await withSpan(getTracer('test'), 'parent', {}, () => withSpan(getTracer('test'), 'child', {}, () => Promise.resolve(injectTraceContext({}))));
    const deadline = Date.now() + 3000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]!.contentType).toBe('application/json');
    const resource = received[0]!.body.resourceSpans[0]!;
    const attrs = Object.fromEntries(resource.resource.attributes.map((a) => [a.key, a.value.stringValue]));
    expect(attrs).toMatchObject({ 'service.name': 'tracing-test', 'service.instance.id': 'i1' });
    const spans = resource.scopeSpans.flatMap((s) => s.spans);
    const parent = spans.find((s) => s.name === 'parent')!;
    const child = spans.find((s) => s.name === 'child')!;
    // Ids are hex in OTLP/JSON, the same as in traceparent headers and logs.
    expect(parent.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(child.parentSpanId).toBe(parent.spanId);
    expect(carrier.traceparent).toBe(`00-${parent.traceId}-${child.spanId}-01`);
  });
});
