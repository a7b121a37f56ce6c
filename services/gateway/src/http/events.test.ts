import { waitFor } from '@ferry/testkit';
import { once } from 'node:events';
import { get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { alertSchema, fileItemSchema } from './schemas.js';

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** A minimal EventSource for tests: the raw events and comments as they arrive. */
class SseClient {
  readonly events: SseEvent[] = [];
  private buffer = '';
  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const event: SseEvent = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) event.comment = line.slice(1).trim();
          else {
            const colon = line.indexOf(':');
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).trimStart();
            if (field === 'id' || field === 'event' || field === 'data') event[field] = value;
          }
        }
        this.events.push(event);
      }
    });
  }
  of(type: string): SseEvent[] {
    return this.events.filter((e) => e.event === type);
  }
  close(): void {
    this.res.destroy();
  }
}

function connect(server: Server, headers: Record<string, string>): Promise<IncomingMessage> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/api/v1/events', headers: { accept: 'text/event-stream', ...headers } }, resolve).on('error', reject);
  });
}

describe('GET /api/v1/events', () => {
  let gw: Gateway | undefined;
  let server: Server | undefined;
  const clients: SseClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await gw?.close();
    if (server) await new Promise((r) => server?.close(r));
    gw = undefined;
    server = undefined;
  });

  async function start() {
    gw = await startGateway({ options: { eventsPollMs: 50, eventsHeartbeatMs: 200 } });
    server = gw.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { gw, server };
  }

  async function open(s: Server, headers: Record<string, string>) {
    const res = await connect(s, headers);
    const client = new SseClient(res);
    clients.push(client);
    return client;
  }

  it('streams file and alert changes and heartbeats to a cookie-signed-in client', async () => {
    const { gw, server } = await start();
    await insertFiles(gw.db, [{ id: 'f1', status: 'uploading', detectedAt: '2025-01-01T00:00:00Z' }]);
    const { token } = await (await import('../adapters/token-store.js')).createApiToken(gw.db, { name: 'web', role: 'viewer' });
    const signIn = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;

    const client = await open(server, { cookie });
    expect(client.res.statusCode).toBe(200);
    expect(client.res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(client.res.headers['cache-control']).toBe('no-cache, no-transform');
    await waitFor('the connected comment', () => client.events.some((e) => e.comment === 'connected'));
    await waitFor('the poller to start', () => gw.gateway.feed.size === 1);

    // The monitor projects a change: status and updated_at move on.
    await gw.db.updateTable('files').set({ status: 'stored', zone: 'default', key: 'k', stored_at: new Date(), updated_at: new Date() }).where('id', '=', 'f1').execute();
    const fileEvent = await waitFor('a file event', () => client.of('file')[0]);
    const item = fileItemSchema.parse(JSON.parse(fileEvent.data!));
    expect(item).toMatchObject({ id: 'f1', status: 'stored', zone: 'default' });
    expect(fileEvent.id).toMatch(/^[A-Za-z0-9_-]+$/);

    const now = new Date();
    await gw.db
      .insertInto('alerts')
      .values({ fingerprint: 'fp1', rule: 'disk_low', labels: JSON.stringify({ alertname: 'disk_low' }), annotations: JSON.stringify({ summary: 'low' }), status: 'firing', group_key: 'g', starts_at: now, updated_at: now })
      .execute();
    const alertEvent = await waitFor('an alert event', () => client.of('alert')[0]);
    expect(alertSchema.parse(JSON.parse(alertEvent.data!))).toMatchObject({ fingerprint: 'fp1', status: 'firing', summary: 'low' });

    await waitFor('a heartbeat comment', () => client.events.some((e) => e.comment === 'ping'));
    // Each change is sent once, however many polls see it in their look-back window.
    await new Promise((r) => setTimeout(r, 300));
    expect(client.of('file')).toHaveLength(1);
    expect(client.of('alert')).toHaveLength(1);
  });

  it('shares one poller, cleans up when clients leave, and replays what a client missed (Last-Event-ID)', async () => {
    const { gw, server } = await start();
    await insertFiles(gw.db, [{ id: 'a' }, { id: 'b' }]);
    const auth = await gw.bearer();
    const first = await open(server, { authorization: auth });
    const second = await open(server, { authorization: auth });
    await waitFor('two listeners', () => gw.gateway.feed.size === 2 && gw.gateway.events.size === 2);

    await gw.db.updateTable('files').set({ status: 'stored', updated_at: new Date() }).where('id', '=', 'a').execute();
    const seen = await waitFor('both clients to see a', () => first.of('file')[0] && second.of('file')[0] && first.of('file')[0]);
    second.close();
    await waitFor('one listener left', () => gw.gateway.feed.size === 1 && gw.gateway.events.size === 1);
    first.close();
    await waitFor('no listener left', () => gw.gateway.feed.size === 0 && gw.gateway.events.size === 0);

    // While nobody listens, b changes; a client that comes back with its last id gets it.
    await gw.db.updateTable('files').set({ status: 'failed', failed_step: 'upload', updated_at: new Date(Date.now() + 10) }).where('id', '=', 'b').execute();
    const back = await open(server, { authorization: auth, 'last-event-id': seen.id! });
    const replayed = await waitFor('the missed change', () => back.of('file').find((e) => JSON.parse(e.data!).id === 'b'));
    expect(JSON.parse(replayed.data!)).toMatchObject({ id: 'b', status: 'failed', failedStep: 'upload' });
  });

  it('asks the client to reload when it missed too much', async () => {
    const { gw, server } = await start();
    const auth = await gw.bearer();
    const old = Buffer.from(JSON.stringify(['2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z'])).toString('base64url');
    await insertFiles(gw.db, Array.from({ length: 501 }, (_, i) => ({ id: `f${i}` })));
    await gw.db.updateTable('files').set({ updated_at: new Date() }).execute();
    const client = await open(server, { authorization: auth, 'last-event-id': old });
    await waitFor('a reset event', () => client.of('reset')[0]);
    expect(client.of('file')).toHaveLength(0);
  });

  it('refuses without credentials and ends streams when the gateway stops', async () => {
    const { gw, server } = await start();
    const refused = await connect(server, {});
    expect(refused.statusCode).toBe(401);
    refused.resume();
    const client = await open(server, { authorization: await gw.bearer() });
    await waitFor('the listener', () => gw.gateway.events.size === 1);
    const ended = once(client.res, 'end');
    await gw.gateway.stop();
    await ended;
    expect(gw.gateway.feed.size).toBe(0);
  });
});
