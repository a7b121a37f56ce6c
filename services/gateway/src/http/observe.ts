import { context, extractTraceContext, getTracer, histogram, SpanKind, SpanStatusCode, trace, type Logger } from '@ferry/common';
import type { Request, RequestHandler } from 'express';
import type { RequestStats } from '../adapters/request-stats-store.js';
import { principalOf } from './auth.js';
import { routeLabelOf } from './routes.js';

/** Seconds buckets for HTTP answers: most take milliseconds, downloads and streams longer. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

const requestSeconds = histogram('ferry_http_request_duration_seconds', 'Gateway answers: time from request to the last byte, by method, route pattern and status.', ['method', 'route', 'status'], HTTP_BUCKETS);

/** The label of requests no route took: one value, so paths probed by scanners cannot add series. */
export const UNMATCHED = '(unmatched)';

/** The client a request is counted for: its token's name, else `anonymous@<address>`. */
export function clientOf(req: Request): string {
  return principalOf(req)?.name ?? `anonymous@${req.ip ?? 'unknown'}`;
}

/**
 * The first middleware: a SERVER span per request, continuing the caller's
 * `traceparent`, active while the request is handled (so log lines carry its trace id);
 * and when the answer is done, its span name and attributes, the duration histogram,
 * the request statistics and the access log line, all by route pattern.
 */
export function observe(options: { logger: Logger; stats: RequestStats }): RequestHandler {
  const tracer = getTracer('gateway');
  const { logger, stats } = options;
  return (req, res, next) => {
    const started = performance.now();
    const startedAt = Date.now();
    const carrier = { traceparent: req.get('traceparent'), tracestate: req.get('tracestate') };
    const parent = extractTraceContext(carrier, context.active());
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol } }, parent);
    const ctx = trace.setSpan(parent, span);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      const ms = performance.now() - started;
      const route = routeLabelOf(req) ?? UNMATCHED;
      // A client that hung up before the answer was complete: 499, as nginx counts it.
      const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      requestSeconds.observe({ method: req.method, route, status: String(status) }, ms / 1000);
      stats.record({ at: startedAt, route, method: req.method, status, client: clientOf(req), durationMs: ms });
      context.with(ctx, () => {
        // The path without its query string, never headers: they may hold a token.
        const line = { method: req.method, path: req.originalUrl.split('?')[0], route, status, ms: Math.round(ms), client: clientOf(req) };
        // Probes poll /health and /metrics every few seconds; at info level they would bury everything else.
        if (route === '/health' || route === '/metrics') logger.debug(line, 'request');
        else logger.info(line, 'request');
      });
      span.end();
    };
    res.once('finish', finish);
    res.once('close', finish);
    context.with(ctx, next);
  };
}

/**
 * Runs a middleware that calls `next` from a stream callback (a body parser) so that
 * what follows still runs in the request's trace context.
 */
export function keepContext(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => middleware(req, res, context.bind(context.active(), next));
}
