import { createDatabase, createLogger } from '@ferry/common';
import { isolate } from '@ferry/testkit';
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../adapters/token-store.js';
import { createServer } from '../app.js';

describe('the error handler', () => {
  it('answers 500 without internals and logs the failure without the token', async () => {
    const iso = await isolate('err');
    const db = createDatabase({ url: iso.databaseUrl, maxConnections: 1 });
    const { token } = await createApiToken(db, { name: 'x', role: 'viewer' });
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const app = createServer({ db, zones: new Map(), logger: createLogger({ service: 'gateway', level: 'info', destination }) });
    // A pool that has been ended fails every query: the token lookup itself throws.
    await db.destroy();

    const res = await request(app).get('/api/v1/files?q=abc').set('Authorization', `Bearer ${token}`).expect(500);
    expect(res.body).toEqual({ error: 'internal', message: 'internal error' });
    const log = lines.join('');
    expect(log).toContain('request failed');
    expect(log).toContain('"path":"/api/v1/files"');
    expect(log).not.toContain(token);
  });
});
