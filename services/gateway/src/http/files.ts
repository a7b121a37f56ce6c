import { errorMessage, type Logger } from '@ferry/common';
import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { CommandPublisher } from '../adapters/commands.js';
import type { ContentSource } from '../adapters/content.js';
import type { FileStore } from '../adapters/file-store.js';
import { csvLine } from '../domain/csv.js';
import type { FileItem } from '../domain/file-view.js';
import { CSV_MAX_ROWS, DEFAULT_LIMIT, listQuerySchema, toFileListQuery, type FileListQuery } from '../domain/list-query.js';
import { acceptCommand, writable } from './commands.js';
import { sendError } from './errors.js';
import { defineRoute, type ApiRoute } from './routes.js';
import { commandAcceptedSchema, fileDetailSchema, filePageSchema } from './schemas.js';

function fileNotFound(res: Response, id: string): void {
  sendError(res, 404, { error: 'not_found', message: `no file with id ${id}` });
}

/** `:id` of the file routes. */
export const fileIdParams = z.strictObject({ id: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters') });

/** The columns of a CSV export, in order: the fields of a file item. */
const CSV_COLUMNS = ['id', 'instrument', 'path', 'kind', 'size', 'sha256', 'status', 'failedStep', 'error', 'zone', 'key', 'detectedAt', 'storedAt', 'updatedAt', 'traceId'] as const satisfies readonly (keyof FileItem)[];

const retryBody = z
  .strictObject({
    pipeline: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a pipeline name: letters, digits, - and _ (1 to 64)')
      .optional()
      .meta({ description: 'Retry only this pipeline; default: the one that failed.' }),
  })
  .meta({ description: 'Optional.' });

/**
 * Streams every file matching the filters as CSV, newest first, reading keyset pages
 * so memory stays flat and no database cursor is held open while a slow client reads.
 */
async function exportCsv(res: Response, files: FileStore, query: FileListQuery, logger: Logger): Promise<void> {
  const filter = { instrument: query.instrument, status: query.status, q: query.q, since: query.since, until: query.until };
  const truncated = await files.moreThan(filter, CSV_MAX_ROWS);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="ferry-files-${stamp}.csv"`);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Ferry-Export-Limit', String(CSV_MAX_ROWS));
  res.setHeader('X-Ferry-Export-Truncated', String(truncated));
  res.write(csvLine(CSV_COLUMNS));
  let rows = 0;
  try {
    for await (const page of files.scan(filter, { max: CSV_MAX_ROWS })) {
      let chunk = '';
      for (const item of page) chunk += csvLine(CSV_COLUMNS.map((c) => item[c]));
      rows += page.length;
      res.write(chunk);
      if (!(await writable(res))) {
        logger.debug({ rows }, 'CSV export aborted by the client');
        return;
      }
    }
  } catch (err) {
    // The answer has begun: all that is left is to cut it, so the client sees it incomplete.
    logger.error({ err: errorMessage(err), rows }, 'CSV export failed midway');
    res.destroy();
    return;
  }
  res.end();
}

/** The `/files` routes of API v1. */
export function fileRoutes(deps: { files: FileStore; content: ContentSource; commands: CommandPublisher; logger: Logger }): ApiRoute[] {
  const { files, content, commands, logger } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/files',
      tag: 'files',
      summary: 'List files, newest first, filtered; or export them as CSV',
      description: `Keyset pagination: pass \`nextCursor\` as \`cursor\` for the next page (${DEFAULT_LIMIT} items by default). With \`format=csv\` every matching row is streamed as CSV (at most ${CSV_MAX_ROWS}; \`X-Ferry-Export-Truncated: true\` when there were more).`,
      access: 'viewer',
      query: listQuerySchema,
      responses: {
        200: {
          description: 'One page of files, or the CSV export.',
          schema: filePageSchema,
          mediaTypes: ['text/csv'],
          headers: { 'X-Ferry-Export-Truncated': 'CSV only: true when more rows matched than the export holds.', 'X-Ferry-Export-Limit': 'CSV only: the most rows an export holds.' },
        },
      },
      async handle({ res, query }) {
        const parsed = toFileListQuery(query);
        if (query.format === 'csv') {
          await exportCsv(res, files, parsed, logger);
          return;
        }
        res.json(await files.list(parsed));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/files/:id',
      tag: 'files',
      summary: 'One file with its timeline, jobs, manifest and trace id',
      access: 'viewer',
      params: fileIdParams,
      responses: { 200: { description: 'The file.', schema: fileDetailSchema }, 404: { description: 'No such file.' } },
      async handle({ res, params }) {
        const detail = await files.detail(params.id);
        if (!detail) {
          fileNotFound(res, params.id);
          return;
        }
        res.json(detail);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/files/:id/content',
      tag: 'files',
      summary: "The file's stored bytes",
      description: 'A redirect to a presigned URL (S3 zones, valid 15 minutes), or the bytes streamed (local zones). A folder is served as its manifest.',
      access: 'viewer',
      params: fileIdParams,
      responses: {
        200: { description: 'The bytes (local zone).', mediaTypes: ['application/octet-stream'] },
        302: { description: 'Redirect to a presigned URL (S3 zone).', headers: { Location: 'The presigned URL.' } },
        404: { description: 'No such file, or nothing stored yet.' },
        503: { description: "The file's zone is not configured on this gateway." },
      },
      async handle({ res, params }) {
        const file = await files.get(params.id);
        if (!file) {
          fileNotFound(res, params.id);
          return;
        }
        const location = await content.locate(file);
        switch (location.kind) {
          case 'not-stored':
            sendError(res, 404, { error: 'not_found', message: location.message });
            return;
          case 'zone-unavailable':
            sendError(res, 503, { error: 'unavailable', message: location.message });
            return;
          case 'redirect':
            // The signed link expires in minutes; a cached redirect would outlive it.
            res.setHeader('Cache-Control', 'no-store');
            res.redirect(302, location.url);
            return;
          case 'stream':
            res.status(200);
            res.setHeader('Content-Type', 'application/octet-stream');
            res.setHeader('Content-Length', String(location.size));
            res.setHeader('Content-Disposition', location.disposition);
            try {
              await pipeline(location.body, res);
            } catch (err) {
              // The answer has begun and pipeline has closed it, so there is nobody left to tell:
              // a client that hangs up mid-download is routine, anything else is worth a line.
              if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') logger.debug({ fileId: file.id }, 'download aborted by the client');
              else logger.error({ fileId: file.id, err: errorMessage(err) }, 'download failed midway');
            }
            return;
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/files/:id/retry',
      tag: 'files',
      summary: 'Retry a failed file',
      description:
        'The file must be `failed`. A failed processing job: publishes `command.retry` with `{fileId, step, pipeline?}` and the scheduler queues the job again (without a body, the pipeline that failed). A failed upload: publishes `command.retry` with `{fileId, step: "upload", detected}` (the file as detected) and an uploader tries again.',
      access: 'operator',
      params: fileIdParams,
      body: retryBody,
      responses: {
        202: { description: 'The command was sent.', schema: commandAcceptedSchema },
        404: { description: 'No such file.' },
        409: { description: 'The file is not failed, failed at a step that cannot be retried, or a pipeline was named for a failed upload.' },
        503: { description: 'The command could not be sent (no NATS).' },
      },
      async handle({ res, params, body, principal }) {
        const file = await files.get(params.id);
        if (!file) {
          fileNotFound(res, params.id);
          return;
        }
        if (file.status !== 'failed') {
          sendError(res, 409, { error: 'conflict', message: `file ${file.id} is ${file.status}, not failed: only a failed file can be retried` });
          return;
        }
        if (file.failedStep === 'upload') {
          // An uploader tries again from the file as it was detected.
          if (body.pipeline !== undefined) {
            sendError(res, 409, { error: 'conflict', message: `file ${file.id} failed at its upload, not at a pipeline: retry it without one` });
            return;
          }
          const detected = await files.detection(file.id);
          if (!detected) {
            fileNotFound(res, params.id);
            return;
          }
          await acceptCommand(res, commands, 'retry', principal?.name ?? 'unknown', { fileId: file.id, step: 'upload', detected });
          return;
        }
        if (file.failedStep && !file.failedStep.startsWith('job:')) {
          sendError(res, 409, {
            error: 'conflict',
            message: `file ${file.id} failed at step ${file.failedStep}, which cannot be retried from here: only uploads and processing jobs can. Fix the cause (${file.error ?? 'see its timeline'}), then announce the file again`,
          });
          return;
        }
        const failedPipeline = file.failedStep?.startsWith('job:') ? file.failedStep.slice(4) : undefined;
        const pipelineName = body.pipeline ?? failedPipeline;
        await acceptCommand(res, commands, 'retry', principal?.name ?? 'unknown', {
          fileId: file.id,
          ...(file.failedStep ? { step: file.failedStep } : {}),
          ...(pipelineName ? { pipeline: pipelineName } : {}),
        });
      },
    }),
  ];
}
