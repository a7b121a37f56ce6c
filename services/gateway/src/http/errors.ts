import { errorMessage, type Logger } from '@ferry/common';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import type { ParamIssue } from '../domain/list-query.js';

/** The machine-readable `error` of every error answer. */
export type ErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'too_many_requests' | 'unavailable' | 'internal';

/** The body of every error answer: a stable code for programs and a message for people. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  issues?: ParamIssue[];
}

/** Sends an error answer in the one shape the API uses. */
export function sendError(res: Response, status: number, body: ErrorBody): void {
  res.status(status).json(body);
}

/** 400 naming each rejected parameter. */
export function sendBadRequest(res: Response, issues: ParamIssue[]): void {
  const summary = issues.map((i) => `${i.param} ${i.message}`).join('; ');
  sendError(res, 400, { error: 'bad_request', message: `invalid request: ${summary}`, issues });
}

/** The last route: anything not matched is a JSON 404, never Express's HTML page. */
export const notFound: RequestHandler = (req, res) => {
  sendError(res, 404, { error: 'not_found', message: `no route for ${req.method} ${req.path}` });
};

interface HttpError {
  status: number;
  expose?: boolean;
  message: string;
  /** body-parser's kind of failure, e.g. `entity.parse.failed`. */
  type?: string;
}

// body-parser's messages for these can quote the body, which may hold a token.
const BODY_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'the request body is not valid JSON',
  'entity.too.large': 'the request body is too large',
  'entity.verify.failed': 'the request body was refused',
  'request.aborted': 'the request was aborted',
  'charset.unsupported': 'the request body has an unsupported charset; send UTF-8',
  'encoding.unsupported': 'the request body has an unsupported Content-Encoding',
};

// Errors raised by Express and its parsers carry a 4xx `status` when the client is at
// fault: http-errors marks those `expose`, the router's "Failed to decode param" for a
// malformed %-escape does not but is equally the client's mistake.
function isClientError(err: unknown): err is HttpError {
  if (typeof err !== 'object' || err === null) return false;
  const { status } = err as Partial<HttpError>;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * The error handler: client errors keep their status; anything else is logged with
 * the request's method and path (never its headers, which may hold a token) and
 * answered with a bare 500, so internals do not leak.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, next) => {
    if (res.headersSent) {
      // Too late for a JSON answer; Express's default handler closes the connection.
      logger.error({ err: errorMessage(err), method: req.method, path: req.path }, 'request failed after the response started');
      next(err);
      return;
    }
    if (isClientError(err)) {
      const known = err.type === undefined ? undefined : BODY_ERRORS[err.type];
      const message = known ?? (err.expose === false || err.type !== undefined ? (STATUS_CODES[err.status] ?? 'bad request') : err.message);
      sendError(res, err.status, { error: err.status === 404 ? 'not_found' : 'bad_request', message });
      return;
    }
    logger.error(
      { err: errorMessage(err), name: err instanceof Error ? err.name : typeof err, cause: err instanceof Error && err.cause !== undefined ? errorMessage(err.cause) : undefined, method: req.method, path: req.path },
      'request failed',
    );
    sendError(res, 500, { error: 'internal', message: 'internal error' });
  };
}
