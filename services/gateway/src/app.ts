import type { Bus, Database, Logger, ZoneReader } from '@ferry/common';
import express, { type Express } from 'express';
import type { Kysely } from 'kysely';
import { AlertStore } from './adapters/alert-store.js';
import { CommandPublisher } from './adapters/commands.js';
import { ContentSource } from './adapters/content.js';
import { FileStore } from './adapters/file-store.js';
import { JobStore } from './adapters/job-store.js';
import { LiveFeed } from './adapters/live-feed.js';
import { RequestStats } from './adapters/request-stats-store.js';
import { SessionStore } from './adapters/session-store.js';
import { StateStore } from './adapters/state-store.js';
import { TokenStore } from './adapters/token-store.js';
import { UsageStore, type ServedZone } from './adapters/usage-store.js';
import { FailureLimiter } from './domain/rate-limit.js';
import { alertRoutes } from './http/alerts.js';
import { requireAuth, type Authenticator } from './http/auth.js';
import { errorHandler, notFound } from './http/errors.js';
import { EventsHub } from './http/events.js';
import { fileRoutes } from './http/files.js';
import { healthRoute } from './http/health.js';
import { metricsRoute } from './http/metrics.js';
import { keepContext, observe } from './http/observe.js';
import { openApiDocument, type PlainRoute } from './http/openapi.js';
import { operationRoutes } from './http/operations.js';
import { defineRoute, labelRoute, mountRoutes, type ApiRoute } from './http/routes.js';
import { sessionRoutes } from './http/session.js';
import { stateRoutes } from './http/state.js';
import { storageRoutes } from './http/storage.js';
import { DEFAULT_WEB_DIR, webRouter } from './http/web.js';

/** Where the API is mounted. */
export const API_BASE = '/api/v1';

/** Settings with defaults that suit a single gateway; `main.ts` maps the config onto them. */
export interface GatewayOptions {
  sessionTtlMs: number;
  /** Mark the session cookie Secure on plain http too (behind a TLS proxy). */
  secureCookies: boolean;
  signInLimit: number;
  signInWindowMs: number;
  metricsToken: string | undefined;
  statsFlushMs: number;
  eventsPollMs: number;
  eventsHeartbeatMs: number;
  eventsMaxClients: number;
  webDir: string;
  trustProxy: boolean | number | string;
}

export const DEFAULT_OPTIONS: GatewayOptions = {
  sessionTtlMs: 12 * 3_600_000,
  secureCookies: false,
  signInLimit: 10,
  signInWindowMs: 60_000,
  metricsToken: undefined,
  statsFlushMs: 60_000,
  eventsPollMs: 1000,
  eventsHeartbeatMs: 15_000,
  eventsMaxClients: 500,
  webDir: DEFAULT_WEB_DIR,
  trustProxy: false,
};

/** What {@link createServer} needs; every connection is opened and closed by the caller. */
export interface ServerDeps {
  db: Kysely<Database>;
  /** Checked by `/health` and used to send operator commands when given. */
  bus?: Bus | undefined;
  /** The zones whose content this gateway can serve, by zone name. */
  zones: ReadonlyMap<string, ZoneReader>;
  logger: Logger;
  options?: Partial<GatewayOptions> | undefined;
}

/** The HTTP app and the parts that outlive a request. */
export interface GatewayServer {
  app: Express;
  feed: LiveFeed;
  events: EventsHub;
  stats: RequestStats;
  /** The API routes as mounted (for the OpenAPI document and its test). */
  routes: readonly ApiRoute[];
  /** Ends live streams, stops polling and writes pending statistics; safe to call twice. */
  stop(): Promise<void>;
}

/** The routes outside `/api/v1`, for the OpenAPI document. */
export const PLAIN_ROUTES: readonly PlainRoute[] = [
  {
    method: 'get',
    path: '/health',
    tag: 'operations',
    summary: 'Whether the gateway reaches PostgreSQL and NATS',
    security: 'none',
    responses: { 200: { description: 'Every check passed.' }, 503: { description: 'A check failed; each result is in the body.' } },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    description: 'Open unless METRICS_TOKEN is set; then it needs that token as bearer.',
    security: 'metrics',
    responses: { 200: { description: 'Prometheus text format.', mediaTypes: ['text/plain'] }, 401: { description: 'METRICS_TOKEN is set and was not sent.' } },
  },
];

function servedZones(zones: ReadonlyMap<string, ZoneReader>): ServedZone[] {
  return [...zones.values()].map(({ zone }) =>
    zone.kind === 's3'
      ? { name: zone.name, kind: 's3', bucket: zone.bucket, endpoint: zone.endpoint, region: zone.region, prefix: zone.prefix }
      : { name: zone.name, kind: 'local', prefix: zone.prefix, dir: zone.dir },
  );
}

/** Builds the gateway's HTTP app without listening, and the parts it runs. */
export function createGateway(deps: ServerDeps): GatewayServer {
  const options: GatewayOptions = { ...DEFAULT_OPTIONS, ...deps.options };
  const logger = deps.logger.child({ component: 'http' });
  const { db } = deps;

  const tokens = new TokenStore(db);
  const sessions = new SessionStore(db, { ttlMs: options.sessionTtlMs });
  const auth: Authenticator & { sessions: SessionStore } = { tokens, sessions, secureCookies: options.secureCookies };
  const files = new FileStore(db);
  const alerts = new AlertStore(db);
  const commands = new CommandPublisher(deps.bus);
  const stats = new RequestStats(db, logger, { flushIntervalMs: options.statsFlushMs });
  const feed = new LiveFeed({ files, alerts, logger, pollIntervalMs: options.eventsPollMs });
  const events = new EventsHub({ feed, logger, heartbeatMs: options.eventsHeartbeatMs, maxClients: options.eventsMaxClients });
  const limiter = new FailureLimiter({ limit: options.signInLimit, windowMs: options.signInWindowMs });

  let document: Record<string, unknown> | undefined;
  const routes: ApiRoute[] = [
    ...sessionRoutes({ auth, tokens, limiter, logger }),
    ...fileRoutes({ files, content: new ContentSource(deps.zones), commands, logger }),
    ...stateRoutes({ state: new StateStore(db) }),
    ...alertRoutes({ alerts }),
    ...operationRoutes({ jobs: new JobStore(db), commands }),
    ...storageRoutes({ usage: new UsageStore(db), served: servedZones(deps.zones), stats }),
    events.route(),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      tag: 'meta',
      summary: 'This document',
      access: 'viewer',
      responses: { 200: { description: 'The OpenAPI 3.1 document of this API.' } },
      handle({ res }) {
        document ??= openApiDocument({ base: API_BASE, routes, plain: PLAIN_ROUTES });
        res.json(document);
      },
    }),
  ];

  const app = express();
  app.disable('x-powered-by');
  // Flat string values only: nested objects from the extended parser have no meaning here.
  app.set('query parser', 'simple');
  app.set('trust proxy', options.trustProxy);
  app.use(observe({ logger, stats }));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  app.get('/health', labelRoute('/health'), healthRoute({ db, bus: deps.bus }));
  app.get('/metrics', labelRoute('/metrics'), metricsRoute({ token: options.metricsToken, logger }));

  const api = express.Router();
  api.use(keepContext(express.json({ limit: '64kb' })));
  mountRoutes(api, routes, { base: API_BASE, auth });
  // Unknown API paths: credentials first (so they reveal nothing), then a JSON 404.
  api.use(requireAuth(auth), notFound);
  app.use(API_BASE, api);

  app.use(webRouter(options.webDir));
  app.use(notFound);
  app.use(errorHandler(logger));

  let stopping: Promise<void> | undefined;
  return {
    app,
    feed,
    events,
    stats,
    routes,
    stop() {
      stopping ??= (async () => {
        events.closeAll();
        await feed.stop();
        await stats.stop();
      })();
      return stopping;
    },
  };
}

/** Builds the gateway's HTTP app without listening, so tests can drive it with supertest. */
export function createServer(deps: ServerDeps): Express {
  return createGateway(deps).app;
}
