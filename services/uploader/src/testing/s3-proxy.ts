import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request seen by the proxy. */
export interface SeenRequest {
  method: string;
  /** Path without the query, e.g. `/bucket/sha256/ab/cd/<hash>`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The S3 operation, as far as tests care. */
  op: 'UploadPart' | 'PutObject' | 'CreateMultipartUpload' | 'CompleteMultipartUpload' | 'HeadObject' | 'Other';
  /** Status returned to the client (0 while in flight or when the client went away). */
  status: number;
  /** SHA-256 of the request body as received (hex). */
  bodySha256?: string;
}

/** What a hook decides for a request: forward it (optionally after a delay) or answer with an error. */
export type ProxyDecision = undefined | { fail: number; code?: string } | { delayMs: number };

/** A local HTTP proxy in front of an S3 server that counts, delays and fails requests. */
export interface S3Proxy {
  endpoint: string;
  readonly requests: SeenRequest[];
  /** Requests of an operation that the store answered with 2xx. */
  succeeded(op: SeenRequest['op']): SeenRequest[];
  inFlight(): number;
  maxInFlight(op: SeenRequest['op']): number;
  close(): Promise<void>;
}

function opOf(method: string, query: URLSearchParams): SeenRequest['op'] {
  if (method === 'PUT' && query.has('partNumber') && query.has('uploadId')) return 'UploadPart';
  if (method === 'PUT') return 'PutObject';
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'HEAD') return 'HeadObject';
  return 'Other';
}

/**
 * Starts the proxy on 127.0.0.1 (a free port). Host headers are passed unchanged, so
 * request signatures made for the proxy's address still verify at the store.
 */
export async function startS3Proxy(target: string, hook?: (req: SeenRequest) => ProxyDecision | Promise<ProxyDecision>): Promise<S3Proxy> {
  const upstream = new URL(target);
  const requests: SeenRequest[] = [];
  const active = new Map<SeenRequest['op'], number>();
  const peak = new Map<SeenRequest['op'], number>();
  let open = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen: SeenRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, op: opOf(req.method ?? 'GET', url.searchParams), status: 0 };
    requests.push(seen);
    open++;
    active.set(seen.op, (active.get(seen.op) ?? 0) + 1);
    peak.set(seen.op, Math.max(peak.get(seen.op) ?? 0, active.get(seen.op) ?? 0));
    req.on('error', () => undefined);
    // Attached only once the body's fate is decided: a data listener starts the flow.
    const tap = () => {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => hash.update(chunk));
      req.on('end', () => {
        seen.bodySha256 = hash.digest('hex');
      });
    };
    res.on('close', () => {
      open--;
      active.set(seen.op, (active.get(seen.op) ?? 1) - 1);
    });
    void (async () => {
      const decision = hook ? await hook(seen) : undefined;
      if (decision && 'delayMs' in decision) await new Promise((r) => setTimeout(r, decision.delayMs));
      if (decision && 'fail' in decision) {
        tap();
        req.resume();
        req.on('end', () => {
          seen.status = decision.fail;
          const code = decision.code ?? 'InternalError';
          res.writeHead(decision.fail, { 'content-type': 'application/xml' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected by the test proxy</Message></Error>`);
        });
        return;
      }
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          seen.status = answer.statusCode ?? 0;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      forward.on('error', () => res.destroy());
      res.on('close', () => {
        if (!res.writableFinished) forward.destroy();
      });
      tap();
      req.pipe(forward);
    })();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    succeeded: (op) => requests.filter((r) => r.op === op && r.status >= 200 && r.status < 300),
    inFlight: () => open,
    maxInFlight: (op) => peak.get(op) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
