import { testLogger } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notification } from '../domain/lifecycle.js';
import type { Receiver } from '../notifiers/index.js';
import { FakeClock } from '../testing/clock.js';
import { integration, TestReceiver } from '../testing/fixtures.js';
import { storeNotification } from './alert-store.js';
import { Outbox, retryDelay } from './outbox.js';

const notification = (status: 'firing' | 'resolved', at: number): Notification => ({
  groupKey: '{}:{alertname="heartbeat_missing"}',
  groupLabels: { alertname: 'heartbeat_missing' },
  status,
  reason: status === 'firing' ? 'first' : 'resolved',
  alerts: [{ fingerprint: 'f1', status, labels: { alertname: 'heartbeat_missing', instance: 'w1' }, annotations: { summary: 'w1 is gone' }, startsAt: at, endsAt: status === 'resolved' ? at + 60_000 : null }],
});

describe('retryDelay', () => {
  it('doubles from the first delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => retryDelay(n, 5000, 300_000))).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });
});

describe('notification outbox against PostgreSQL and a local receiver', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function setup() {
    const env = await integration('outbox');
    const receiver = await new TestReceiver().start();
    closers.push(() => env.close(), () => receiver.close());
    const clock = new FakeClock();
    const receivers: Receiver[] = [{ name: 'webhook', kind: 'webhook', url: receiver.url('/hook') }];
    const outbox = new Outbox({ db: env.db, logger: testLogger('monitor'), receivers, now: clock.now, retryInitialMs: 5000, retryMaxMs: 300_000, maxAgeMs: 24 * 3_600_000, timeoutMs: 5000 });
    const queue = (n: Notification) => storeNotification(env.db, n, clock.ms, receivers, { publicUrl: 'http://ferry.test' });
    const rows = () => env.db.selectFrom('notification_deliveries').selectAll().orderBy('id').execute();
    return { ...env, receiver, clock, outbox, queue, rows };
  }

  it('retries with backoff until the receiver accepts, and delivers once', async () => {
    const { receiver, clock, outbox, queue, rows } = await setup();
    receiver.failures = 3;
    await queue(notification('firing', clock.ms));
    expect(await outbox.deliverDue()).toEqual({ sent: 0, retried: 1, failed: 0 });
    expect(await outbox.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 }); // not due yet
    clock.advance(5000);
    expect((await outbox.deliverDue()).retried).toBe(1);
    clock.advance(9000);
    expect((await outbox.deliverDue()).retried).toBe(0);
    clock.advance(1000);
    expect((await outbox.deliverDue()).retried).toBe(1);
    clock.advance(20_000);
    expect(await outbox.deliverDue()).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(await outbox.deliverDue()).toEqual({ sent: 0, retried: 0, failed: 0 });
    expect(receiver.on('/hook')).toHaveLength(1);
    expect(receiver.on('/hook')[0]?.body).toMatchObject({ version: '4', status: 'firing', receiver: 'webhook' });
    expect(await rows()).toMatchObject([{ status: 'sent', attempts: 4, last_error: null }]);
  });

  it('loses nothing while the receiver is down for an hour, and keeps the order', async () => {
    const { receiver, clock, outbox, queue, rows } = await setup();
    receiver.failures = Number.MAX_SAFE_INTEGER;
    const start = clock.ms;
    await queue(notification('firing', clock.ms));
    let calls = 0;
    while (clock.ms - start < 3_600_000) {
      const pass = await outbox.deliverDue();
      calls += pass.retried;
      if (clock.ms - start === 1_800_000) await queue(notification('resolved', clock.ms));
      clock.advance(30_000);
    }
    expect(calls).toBeGreaterThan(5);
    expect(calls).toBeLessThan(30); // backing off, not hammering
    expect((await rows()).map((r) => r.status)).toEqual(['pending', 'pending']);
    receiver.failures = 0;
    clock.advance(300_000);
    expect(await outbox.deliverDue()).toEqual({ sent: 2, retried: 0, failed: 0 });
    expect(receiver.on('/hook').map((r) => (r.body as { status: string }).status)).toEqual(['firing', 'resolved']);
  });

  it('marks a delivery failed after the maximum age, and at once when the receiver refuses it', async () => {
    const { receiver, clock, outbox, queue, rows } = await setup();
    receiver.failures = Number.MAX_SAFE_INTEGER;
    await queue(notification('firing', clock.ms));
    await outbox.deliverDue();
    clock.advance(24 * 3_600_000 + 1);
    expect((await outbox.deliverDue()).failed).toBe(1);
    expect(await rows()).toMatchObject([{ status: 'failed', last_error: expect.stringMatching(/not delivered within 1440 min: HTTP 503/) as unknown }]);
    receiver.failStatus = 404;
    receiver.failures = 1;
    await queue(notification('firing', clock.ms));
    expect((await outbox.deliverDue()).failed).toBe(1);
    expect((await rows())[1]).toMatchObject({ status: 'failed', attempts: 1, last_error: 'HTTP 404: unavailable' });
  });
});
