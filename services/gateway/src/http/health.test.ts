import { Bus, createDatabase } from '@ferry/common';
import { freePort, testLogger, testServers } from '@ferry/testkit';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../app.js';
import { startGateway, type Gateway } from '../test-fixtures.js';

describe('GET /health', () => {
  let gw: Gateway | undefined;
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    await gw?.close();
    bus = undefined;
    gw = undefined;
  });

  async function connectBus(): Promise<Bus> {
    return Bus.connect({ servers: testServers().natsUrl, name: 'gateway-test', service: 'gateway', logger: testLogger('gateway') });
  }

  it('is 200 without a token when PostgreSQL and NATS answer', async () => {
    bus = await connectBus();
    gw = await startGateway({ bus });
    const res = await request(gw.app).get('/health').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      status: 'ok',
      checks: { postgres: { ok: true, ms: expect.any(Number) }, nats: { ok: true, ms: expect.any(Number) } },
    });
  });

  it('is 503 when the NATS connection is closed', async () => {
    bus = await connectBus();
    gw = await startGateway({ bus });
    await bus.close();
    const res = await request(gw.app).get('/health').expect(503);
    expect(res.body.status).toBe('degraded');
    expect(res.body.checks.postgres.ok).toBe(true);
    expect(res.body.checks.nats).toMatchObject({ ok: false, error: 'connection closed' });
  });

  it('is 503 when PostgreSQL cannot be reached', async () => {
    const db = createDatabase({ url: `postgres://ferry@127.0.0.1:${await freePort()}/nothing`, maxConnections: 1 });
    try {
      const app = createServer({ db, zones: new Map(), logger: testLogger('gateway') });
      const res = await request(app).get('/health').expect(503);
      expect(res.body.status).toBe('degraded');
      expect(res.body.checks.postgres.ok).toBe(false);
      expect(res.body.checks.postgres.error).toMatch(/ECONNREFUSED|connect/);
      // No bus given: NATS is not part of this gateway's health.
      expect(res.body.checks.nats).toBeUndefined();
    } finally {
      await db.destroy();
    }
  });
});
