import { errorMessage, type Logger } from '@ferry/common';
import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { ContentSource } from '../adapters/content.js';
import type { FileStore } from '../adapters/file-store.js';
import { parseFileListQuery } from '../domain/list-query.js';
import { requireRole } from './auth.js';
import { sendBadRequest, sendError } from './errors.js';

function fileNotFound(res: Response, id: string): void {
  sendError(res, 404, { error: 'not_found', message: `no file with id ${id}` });
}

/** The `/files` routes of API v1; mount after `requireToken`. */
export function filesRouter(deps: { files: FileStore; content: ContentSource; logger: Logger }): Router {
  const router = Router();
  const { files, content, logger } = deps;

  router.get('/files', requireRole('viewer'), async (req, res) => {
    const query = parseFileListQuery(req.query);
    if (!query.ok) {
      sendBadRequest(res, query.issues);
      return;
    }
    res.json(await files.list(query.value));
  });

  router.get('/files/:id', requireRole('viewer'), async (req: Request<{ id: string }>, res) => {
    const detail = await files.detail(req.params.id);
    if (!detail) {
      fileNotFound(res, req.params.id);
      return;
    }
    res.json(detail);
  });

  router.get('/files/:id/content', requireRole('viewer'), async (req: Request<{ id: string }>, res) => {
    const file = await files.get(req.params.id);
    if (!file) {
      fileNotFound(res, req.params.id);
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
  });

  return router;
}
