import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type Gateway } from '../test-fixtures.js';
import { DEFAULT_WEB_DIR } from './web.js';

const INDEX = '<!doctype html><title>Ferry</title><script type="module" src="/assets/main-ABCD1234.js"></script>';

describe('the web page', () => {
  let gw: Gateway | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    gw = undefined;
    dir = undefined;
  });

  async function built(): Promise<Gateway> {
    dir = await mkdtemp(join(tmpdir(), 'ferry-web-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'main-ABCD1234.js'), 'console.log(1)');
    await writeFile(join(dir, 'robots.txt'), 'User-agent: *');
    gw = await startGateway({ options: { webDir: dir } });
    return gw;
  }

  it('serves index.html at / without caching it', async () => {
    const g = await built();
    const res = await request(g.app).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.text).toBe(INDEX);
  });

  it('caches hashed assets for good and other files not at all', async () => {
    const g = await built();
    const asset = await request(g.app).get('/assets/main-ABCD1234.js').expect(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['content-type']).toMatch(/javascript/);
    const robots = await request(g.app).get('/robots.txt').expect(200);
    expect(robots.headers['cache-control']).toBe('no-cache');
    await request(g.app).get('/assets/missing-ABCD1234.js').expect(404);
    await request(g.app).get('/../package.json').expect(404);
  });

  it('answers page URLs with index.html for browsers, JSON 404 for everything else', async () => {
    const g = await built();
    const page = await request(g.app).get('/files/abc?status=failed').set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(200);
    expect(page.text).toBe(INDEX);
    const api = await request(g.app).get('/files/abc').set('Accept', 'application/json').expect(404);
    expect(api.body.error).toBe('not_found');
    await request(g.app).get('/files/abc').expect(404);
    await request(g.app).post('/files/abc').set('Accept', 'text/html').expect(404);
    // API paths never fall back to the page.
    await request(g.app).get('/api/v1/nothing').set('Accept', 'text/html').expect(401);
    await request(g.app).get('/api/v2/files').set('Accept', 'text/html').expect(404);
  });

  it('says the page was not built when web/dist is missing', async () => {
    gw = await startGateway({ options: { webDir: '/nonexistent/ferry-web-dist' } });
    const res = await request(gw.app).get('/').expect(503);
    expect(res.body).toEqual({ error: 'unavailable', message: expect.stringMatching(/the web page was not built/) });
    await request(gw.app).get('/alerts').set('Accept', 'text/html').expect(503);
    // The API is unaffected.
    await request(gw.app).get('/health').expect(200);
  });

  it('looks for the build beside the package, whatever the working directory', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    expect(DEFAULT_WEB_DIR).toBe(resolve(here, '../../web/dist'));
  });
});
