import express, { type RequestHandler, type Router } from 'express';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setRouteLabel } from './routes.js';
import { sendError } from './errors.js';

/** The built web page, beside this package (src/http or dist/http → web/dist), whatever the working directory. */
export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** A file name with a content hash (esbuild's `name-HASH.ext`): it never changes, so it may be cached for good. */
const HASHED = /-[A-Za-z0-9]{8,}\.[a-z0-9]+$/i;

/** The route label of everything the page serves. */
export const WEB_ROUTE = '/(web)';

const NOT_BUILT = 'the web page was not built: run "npm run build -w @ferry/gateway" (it writes services/gateway/web/dist)';

/** Paths that belong to the server, never to the page's own routing. */
function isServerPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/health' || path === '/metrics';
}

/**
 * Serves the single-page app: its files with long caching for hashed assets and
 * `no-cache` for the rest, and `index.html` for any other GET that accepts HTML, so
 * deep links (/files/abc) load the page, which then routes itself. Without a build,
 * the page's URLs answer 503 saying so.
 */
export function webRouter(dir: string = DEFAULT_WEB_DIR): Router {
  const router = express.Router();
  const index = join(dir, 'index.html');
  const built = async () => {
    try {
      return (await stat(index)).isFile();
    } catch {
      // No index.html: not built (or built elsewhere); answered below.
      return false;
    }
  };
  router.use(
    express.static(dir, {
      index: false,
      redirect: false,
      fallthrough: true,
      setHeaders(res, path) {
        setRouteLabel(res.req, WEB_ROUTE);
        res.setHeader('Cache-Control', HASHED.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
  const page: RequestHandler = async (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isServerPath(req.path)) {
      next();
      return;
    }
    // The root always means the page; deeper paths only when a browser asks for HTML
    // explicitly (not `*/*`), so API clients and probes get a JSON 404.
    if (req.path !== '/' && !/\btext\/html\b/i.test(req.get('accept') ?? '')) {
      next();
      return;
    }
    setRouteLabel(req, WEB_ROUTE);
    if (!(await built())) {
      sendError(res, 503, { error: 'unavailable', message: NOT_BUILT });
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.sendFile(index);
  };
  router.use(page);
  return router;
}
