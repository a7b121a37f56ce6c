import { testLogger } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AlertmanagerWebhookBody } from '../notifiers/webhook.js';
import { FakeClock } from '../testing/clock.js';
import { integration, TestReceiver } from '../testing/fixtures.js';
import { OutageAlarm } from './outage-alarm.js';
import { postJson } from './outbox.js';

describe('PostgreSQL outage alarm', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('alerts directly after a minute down, retries in memory, then sends the resolution and records the episode', async () => {
    const env = await integration('outage');
    const receiver = await new TestReceiver().start();
    closers.push(() => env.close(), () => receiver.close());
    const clock = new FakeClock();
    let cleared = 0;
    const alarm = new OutageAlarm({
      db: env.db,
      logger: testLogger('monitor'),
      receivers: [{ name: 'webhook', kind: 'webhook', url: receiver.url('/hook') }],
      publicUrl: 'http://ferry.test',
      post: postJson,
      groupBy: ['alertname', 'instrument'],
      forMs: 60_000,
      timeoutMs: 2000,
      retryInitialMs: 5000,
      retryMaxMs: 60_000,
      maxAgeMs: 86_400_000,
      onCleared: () => cleared++,
    });
    await alarm.observe(false, 'connect ECONNREFUSED', clock.ms);
    clock.advance(30_000);
    await alarm.observe(false, 'connect ECONNREFUSED', clock.ms);
    expect(receiver.requests).toHaveLength(0);
    receiver.failures = 1;
    clock.advance(30_000);
    await alarm.observe(false, 'connect ECONNREFUSED', clock.ms); // due now, refused once
    expect(receiver.requests).toHaveLength(0);
    clock.advance(5000);
    await alarm.deliver(clock.ms);
    const firing = receiver.on('/hook')[0]?.body as AlertmanagerWebhookBody;
    expect(firing).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'dependency_unreachable', dependency: 'postgres' }, startsAt: clock.iso(-65_000) }] });
    expect(firing.alerts[0]?.annotations.summary).toBe('PostgreSQL has been unreachable for 1m');
    expect(cleared).toBe(0);

    clock.advance(10 * 60_000);
    await alarm.observe(true, undefined, clock.ms);
    expect((receiver.on('/hook')[1]?.body as AlertmanagerWebhookBody).status).toBe('resolved');
    expect(alarm.active).toBe(false);
    expect(cleared).toBe(1);
    const rows = await env.db.selectFrom('alerts').select(['rule', 'status', 'starts_at', 'ends_at']).execute();
    expect(rows).toEqual([{ rule: 'dependency_unreachable', status: 'resolved', starts_at: new Date(clock.ms - 665_000), ends_at: new Date(clock.ms) }]);
    expect((await env.db.selectFrom('notifications').select('reason').orderBy('id').execute()).map((r) => r.reason)).toEqual(['first', 'resolved']);
  });

  it('says nothing about a blip shorter than a minute', async () => {
    const clock = new FakeClock();
    let cleared = 0;
    const posted: unknown[] = [];
    const alarm = new OutageAlarm({
      db: undefined as never,
      logger: testLogger('monitor'),
      receivers: [{ name: 'webhook', kind: 'webhook', url: 'http://127.0.0.1:9/never' }],
      publicUrl: 'http://ferry.test',
      post: (_url, body) => {
        posted.push(body);
        return Promise.resolve({ ok: true, status: 200 });
      },
      groupBy: ['alertname'],
      forMs: 60_000,
      timeoutMs: 2000,
      retryInitialMs: 5000,
      retryMaxMs: 60_000,
      maxAgeMs: 86_400_000,
      onCleared: () => cleared++,
    });
    await alarm.observe(false, 'timeout', clock.ms);
    clock.advance(45_000);
    await alarm.observe(true, undefined, clock.ms);
    expect(posted).toEqual([]);
    expect(cleared).toBe(1);
  });
});
