import { z } from 'zod';
import type { CommandPublisher } from '../adapters/commands.js';
import type { JobStore } from '../adapters/job-store.js';
import { cursorParam, intParam, once } from '../domain/list-query.js';
import { acceptCommand } from './commands.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { backupSchema, commandAcceptedSchema, jobListItemSchema } from './schemas.js';

const jobsQuery = z.strictObject({
  status: once.pipe(z.enum(['queued', 'processing', 'done', 'failed'], { error: 'must be one of queued, processing, done, failed' })).optional(),
  pipeline: once.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a pipeline name: letters, digits, - and _ (1 to 64)').optional(),
  limit: intParam(1, 500).optional().meta({ description: '1 to 500 (default 50).' }),
  cursor: cursorParam.optional(),
});

const backupsQuery = z.strictObject({ limit: intParam(1, 500).optional().meta({ description: '1 to 500 (default 50).' }) });

const summarySchema = z.object({ pipeline: z.string(), queued: z.number().int(), processing: z.number().int(), failed: z.number().int() });

/** `/jobs` and `/backups`: processing queues, failures, and "back up now". */
export function operationRoutes(deps: { jobs: JobStore; commands: CommandPublisher }): ApiRoute[] {
  const { jobs, commands } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/jobs',
      tag: 'operations',
      summary: 'Processing jobs, latest change first, with open jobs per pipeline',
      access: 'viewer',
      query: jobsQuery,
      responses: {
        200: {
          description: 'One page of jobs, and per pipeline the jobs queued, processing and failed.',
          schema: z.object({ items: z.array(jobListItemSchema), nextCursor: z.string().nullable(), pipelines: z.array(summarySchema) }),
        },
      },
      async handle({ res, query }) {
        const [page, pipelines] = await Promise.all([jobs.jobs({ status: query.status, pipeline: query.pipeline, limit: query.limit ?? 50, cursor: query.cursor }), jobs.summary()]);
        res.json({ ...page, pipelines });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/backups',
      tag: 'operations',
      summary: 'Database backups, newest first, with their verification',
      access: 'viewer',
      query: backupsQuery,
      responses: { 200: { description: 'Backups.', schema: z.object({ items: z.array(backupSchema), lastVerifiedAt: z.string().nullable() }) } },
      async handle({ res, query }) {
        const [items, lastVerifiedAt] = await Promise.all([jobs.backups(query.limit ?? 50), jobs.lastVerifiedBackup()]);
        res.json({ items, lastVerifiedAt });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/backups',
      tag: 'operations',
      summary: 'Back up the database now',
      description: 'Publishes `command.backup`; the scheduler runs a verified backup, which then appears in GET /backups.',
      access: 'operator',
      body: z.strictObject({}).meta({ description: 'Empty or absent.' }),
      responses: { 202: { description: 'The command was sent.', schema: commandAcceptedSchema }, 503: { description: 'The command could not be sent (no NATS).' } },
      async handle({ res, principal }) {
        await acceptCommand(res, commands, 'backup', principal?.name ?? 'unknown', {});
      },
    }),
  ];
}
