import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import type { Principal } from '../adapters/token-store.js';
import { toParamIssues, type ParamIssue } from '../domain/list-query.js';
import type { Role } from '../domain/tokens.js';
import { principalOf, requireAuth, type Authenticator } from './auth.js';
import { sendBadRequest } from './errors.js';

/**
 * API routes as data: each names its method, path, role, the zod schemas of its
 * parameters and body, and its answers. The same definition mounts the Express route
 * (authentication, then validation, then the handler) and writes the route's part of
 * the OpenAPI document, so what is documented is what is enforced.
 */

/** One documented answer. */
export interface ResponseDoc {
  description: string;
  /** The JSON body's shape. */
  schema?: z.ZodType;
  /** Other media types the answer may have (CSV, event streams, bytes). */
  mediaTypes?: string[];
  /** Response headers worth documenting, by name. */
  headers?: Record<string, string>;
}

/** What a handler receives: validated inputs and who sent them. */
export interface RouteContext<Q, P, B> {
  req: Request;
  res: Response;
  query: Q;
  params: P;
  body: B;
  /** Undefined only on public routes. */
  principal: Principal | undefined;
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

/** A route's definition; see {@link defineRoute}. */
export interface RouteDef<Q, P, B> {
  method: 'get' | 'post' | 'delete';
  /** Express path below `/api/v1`, e.g. `/files/:id`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** The least role, or `public` for routes that need no credentials (signing in). */
  access: Role | 'public';
  query?: Q;
  params?: P;
  body?: B;
  /** A body is needed (else a missing body is validated as `{}`). */
  bodyRequired?: boolean;
  responses: Record<number, ResponseDoc>;
  handle(ctx: RouteContext<Output<Q>, Output<P>, Output<B>>): Promise<void> | void;
}

/** A route of any shape, as the mounting and documenting code sees it. */
export interface ApiRoute {
  method: 'get' | 'post' | 'delete';
  path: string;
  tag: string;
  summary: string;
  description?: string;
  access: Role | 'public';
  query?: z.ZodType;
  params?: z.ZodType;
  body?: z.ZodType;
  bodyRequired?: boolean;
  responses: Record<number, ResponseDoc>;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<void> | void;
}

/** Types a route's handler from its schemas. */
export function defineRoute<Q extends z.ZodType | undefined = undefined, P extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  def: RouteDef<Q, P, B>,
): ApiRoute {
  return def;
}

// Which route pattern answered a request, for statistics, metrics and span names.
const routeLabels = new WeakMap<Request, string>();

/** Records the route pattern that handles `req` (e.g. `/api/v1/files/:id`). */
export function setRouteLabel(req: Request, label: string): void {
  routeLabels.set(req, label);
}

/** The route pattern that handled `req`, if one did. */
export function routeLabelOf(req: Request): string | undefined {
  return routeLabels.get(req);
}

/** Sets the route label; the first handler of every route. */
export function labelRoute(label: string): RequestHandler {
  return (req, _res, next) => {
    routeLabels.set(req, label);
    next();
  };
}

const JSON_BODY = 'must be a JSON object sent with "Content-Type: application/json"';

/** Mounts `routes` on `router` (which is mounted at `base`). */
export function mountRoutes(router: Router, routes: readonly ApiRoute[], options: { base: string; auth: Authenticator }): void {
  for (const route of routes) {
    const handlers: RequestHandler[] = [labelRoute(`${options.base}${route.path}`)];
    if (route.access !== 'public') handlers.push(requireAuth(options.auth, route.access));
    handlers.push(async (req, res) => {
      const issues: ParamIssue[] = [];
      const params = route.params ? route.params.safeParse(req.params) : undefined;
      if (params && !params.success) issues.push(...toParamIssues(params.error, '(path)'));
      const query = route.query ? route.query.safeParse(req.query ?? {}) : undefined;
      if (query && !query.success) issues.push(...toParamIssues(query.error, '(query)'));
      if (!route.query) for (const key of Object.keys(req.query ?? {})) issues.push({ param: key, message: 'is not a known parameter' });
      let body: z.ZodSafeParseResult<unknown> | undefined;
      if (route.body) {
        const raw: unknown = req.body ?? (route.bodyRequired ? undefined : {});
        if (raw === undefined) issues.push({ param: 'body', message: JSON_BODY });
        else {
          body = route.body.safeParse(raw);
          if (!body.success) issues.push(...toParamIssues(body.error, 'body'));
        }
      }
      if (issues.length > 0) {
        sendBadRequest(res, issues);
        return;
      }
      await route.handle({
        req,
        res,
        query: query?.data,
        params: params?.data,
        body: body?.data,
        principal: principalOf(req),
      });
    });
    router[route.method](route.path, ...handlers);
  }
}
