import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One span as an OTLP/HTTP exporter sent it, with the service that sent it. */
export interface ReceivedSpan {
  /** The `service.name` resource attribute. */
  service: string;
  /** The instrumentation scope (`ferry.<service>`). */
  scope: string;
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
}

/** OTLP span kinds, as numbers in OTLP/JSON. */
export const OTLP_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: { traceId: string; spanId: string; parentSpanId?: string; name: string; kind?: number; attributes?: KeyValue[] }[];
    }[];
  }[];
}

function plain(v: AnyValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return '';
}

const attributes = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((a) => [a.key, plain(a.value)]));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/**
 * A minimal OTLP/HTTP trace receiver on loopback: `POST /v1/traces` with an OTLP/JSON
 * body (what `@opentelemetry/exporter-trace-otlp-http` sends: `application/json`, hex
 * ids), kept in memory. Anything else (protobuf included) is refused, so a change in
 * the exporter's format fails loudly instead of losing spans.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests refused, with why: a test asserts there were none. */
  readonly refused: string[] = [];
  private server: Server | undefined;

  /** The base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  endpoint = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      readBody(req).then(
        (body) => {
          const type = req.headers['content-type'] ?? '';
          if (req.method !== 'POST' || req.url !== '/v1/traces' || !type.startsWith('application/json')) {
            this.refused.push(`${req.method} ${req.url} (${type})`);
            res.writeHead(415, { 'content-type': 'text/plain' }).end('only POST /v1/traces with OTLP/JSON\n');
            return;
          }
          this.accept(JSON.parse(body.toString('utf8')) as ExportRequest);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        },
        (err: unknown) => {
          this.refused.push(`unreadable body: ${String(err)}`);
          res.writeHead(400).end();
        },
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private accept(request: ExportRequest): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service: String(resource['service.name'] ?? ''),
            scope: ss.scope?.name ?? '',
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? '',
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributes(s.attributes),
          });
        }
      }
    }
  }

  /** Every span of one trace received so far. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
