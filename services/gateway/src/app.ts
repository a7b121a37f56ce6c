import type { Bus, Database, Logger, ZoneReader } from '@ferry/common';
import express, { type Express, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import { ContentSource } from './adapters/content.js';
import { FileStore } from './adapters/file-store.js';
import { TokenStore } from './adapters/token-store.js';
import { requireToken } from './http/auth.js';
import { errorHandler, notFound } from './http/errors.js';
import { filesRouter } from './http/files.js';
import { healthRoute } from './http/health.js';

/** What {@link createServer} needs; every connection is opened and closed by the caller. */
export interface ServerDeps {
  db: Kysely<Database>;
  /** Checked by `/health` when given. */
  bus?: Bus | undefined;
  /** The zones whose content this gateway can serve, by zone name. */
  zones: ReadonlyMap<string, ZoneReader>;
  logger: Logger;
}

/** One line per request: method, path, status, duration; never headers, which may hold a token. */
function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      const line = { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(performance.now() - started) };
      // Probes poll /health every few seconds; at info level they would bury everything else.
      if (req.path === '/health') logger.debug(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}

/** Builds the gateway's HTTP app without listening, so tests can drive it with supertest. */
export function createServer(deps: ServerDeps): Express {
  const logger = deps.logger.child({ component: 'http' });
  const app = express();
  app.disable('x-powered-by');
  // Flat string values only: nested objects from the extended parser have no meaning here.
  app.set('query parser', 'simple');
  app.use(accessLog(logger));

  app.get('/health', healthRoute({ db: deps.db, bus: deps.bus }));

  const api = express.Router();
  api.use(requireToken(new TokenStore(deps.db)));
  api.use(filesRouter({ files: new FileStore(deps.db), content: new ContentSource(deps.zones), logger }));
  api.use(notFound);
  app.use('/api/v1', api);

  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}
