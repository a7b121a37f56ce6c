import { z } from 'zod';
import type { RequestStats } from '../adapters/request-stats-store.js';
import type { ServedZone, UsageStore } from '../adapters/usage-store.js';
import { roleAllows } from '../domain/tokens.js';
import { intParam } from '../domain/list-query.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { itemsOf, requestStatsSchema, usageSchema, zoneSchema } from './schemas.js';

/** Longest history of request statistics one answer covers (their default retention). */
export const MAX_STATS_HOURS = 90 * 24;

/** `/zones`, `/usage` and `/stats/requests`: where things are stored and how the API is used. */
export function storageRoutes(deps: { usage: UsageStore; served: readonly ServedZone[]; stats: RequestStats }): ApiRoute[] {
  const { usage, served, stats } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/zones',
      tag: 'storage',
      summary: 'Storage zones; admins also see bucket, endpoint, region, prefix and folder',
      description: 'Never credentials: zones are reported by uploaders without them.',
      access: 'viewer',
      responses: { 200: { description: 'Zones by name.', schema: itemsOf(zoneSchema) } },
      async handle({ res, principal }) {
        res.json({ items: await usage.zones(served, principal !== undefined && roleAllows(principal.role, 'admin')) });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/usage',
      tag: 'storage',
      summary: 'Files and bytes stored per zone and day, and uploads per day',
      description: 'Computed at most once a minute per `days` and shared (it reads the whole files table).',
      access: 'viewer',
      query: z.strictObject({ days: intParam(1, 366).optional().meta({ description: 'Days back, today included: 1 to 366 (default 30).' }) }),
      responses: { 200: { description: 'Usage over the range (UTC days).', schema: usageSchema } },
      async handle({ res, query }) {
        res.json(await usage.usage(query.days ?? 30));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/stats/requests',
      tag: 'storage',
      summary: 'API request statistics: by hour, route, client, and failures',
      description: 'Counted per hour, route pattern, method, status and client (token name, or anonymous@address).',
      access: 'viewer',
      query: z.strictObject({ hours: intParam(1, MAX_STATS_HOURS).optional().meta({ description: `Hours back, the current one included: 1 to ${MAX_STATS_HOURS} (default 24).` }) }),
      responses: { 200: { description: 'The statistics.', schema: requestStatsSchema } },
      async handle({ res, query }) {
        res.json(await stats.report(query.hours ?? 24));
      },
    }),
  ];
}
