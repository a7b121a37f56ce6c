import { errorMessage, renderMetrics, type Logger } from '@ferry/common';
import type { RequestHandler } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { hashToken, parseBearer } from '../domain/tokens.js';
import { sendError } from './errors.js';

/** Equal-length digests, so the comparison takes the same time whatever was sent. */
function digest(text: string): Buffer {
  return Buffer.from(hashToken(text), 'hex');
}

/**
 * `GET /metrics` in Prometheus' text format. Open unless a token is configured; then it
 * needs `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsRoute(options: { token?: string | undefined; logger: Logger }): RequestHandler {
  const expected = options.token ? digest(options.token) : undefined;
  return async (req, res) => {
    if (expected) {
      const credential = parseBearer(req.get('authorization'));
      if (!credential.ok || !timingSafeEqual(digest(credential.token), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="ferry-metrics"');
        sendError(res, 401, { error: 'unauthorized', message: credential.ok ? 'wrong metrics token' : 'metrics need "Authorization: Bearer <METRICS_TOKEN>"' });
        return;
      }
    }
    try {
      const { contentType, body } = await renderMetrics();
      res.setHeader('Cache-Control', 'no-store');
      res.type(contentType).send(body);
    } catch (err) {
      options.logger.error({ err: errorMessage(err) }, 'metrics collection failed');
      sendError(res, 500, { error: 'internal', message: 'metrics collection failed' });
    }
  };
}
