import { fileIdFor, metricsRegistry, type EventOf } from '@ferry/common';
import { testLogger, waitFor } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { storeNotification } from './adapters/alert-store.js';
import { Outbox } from './adapters/outbox.js';
import { createMonitor } from './app.js';
import type { Notification } from './domain/lifecycle.js';
import { eventTime, trackState } from './metrics.js';
import type { Receiver } from './notifiers/index.js';
import { integration, TestReceiver } from './testing/fixtures.js';

/** The value of one series, or undefined when it does not exist. */
async function value(metric: string, labels: Record<string, string> = {}, series = metric): Promise<number | undefined> {
  const m = metricsRegistry.getSingleMetric(metric);
  if (!m) return undefined;
  const { values } = await m.get();
  return values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === series && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

describe('eventTime', () => {
  it('takes the time the event says it happened, whatever the field is called', () => {
    expect(eventTime({ detectedAt: '2026-01-01T00:00:01.000Z' })).toBe(Date.UTC(2026, 0, 1, 0, 0, 1));
    expect(eventTime({ at: '2026-01-01T00:00:02.000Z', startedAt: '2025-01-01T00:00:00Z' })).toBe(Date.UTC(2026, 0, 1, 0, 0, 2));
    expect(eventTime({ finishedAt: '2026-01-01T00:00:03.000Z', startedAt: '2025-01-01T00:00:00Z' })).toBe(Date.UTC(2026, 0, 1, 0, 0, 3));
    expect(eventTime({ fileId: 'x' })).toBeUndefined();
    expect(eventTime({ at: 'not a time' })).toBeUndefined();
  });
});

describe('monitor metrics against NATS and PostgreSQL', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('counts projected events with their lag, and reads firing alerts and pending notifications at scrape', async () => {
    const env = await integration('monmetrics');
    closers.push(() => env.close());
    const monitor = createMonitor({ bus: env.bus, db: env.db, logger: testLogger('monitor'), instance: 'test', alerting: false });
    closers.push(() => monitor.stop());
    const before = {
      projected: (await value('ferry_events_projected_total', { event: 'file.detected' })) ?? 0,
      lagged: (await value('ferry_projection_lag_seconds', { event: 'file.detected' }, 'ferry_projection_lag_seconds_count')) ?? 0,
    };
    await monitor.start();
    const hash = 'cd'.repeat(32);
    const event: EventOf<'file.detected'> = {
      fileId: fileIdFor('ms1', 'a.raw', hash),
      instrument: 'ms1',
      path: 'a.raw',
      root: '/data/ms1',
      kind: 'file',
      size: 1,
      sha256: hash,
      mtime: new Date().toISOString(),
      detectedAt: new Date(Date.now() - 3000).toISOString(),
      watcher: 'pc1',
    };
    await env.bus.publish('file.detected', event);
    await waitFor('the file projected', async () => (await value('ferry_events_projected_total', { event: 'file.detected' })) === before.projected + 1);
    expect(await value('ferry_projection_lag_seconds', { event: 'file.detected' }, 'ferry_projection_lag_seconds_count')).toBe(before.lagged + 1);
    // Detected 3 s before it was published: the lag counts from the event's own time.
    expect(await value('ferry_projection_lag_seconds', { event: 'file.detected' }, 'ferry_projection_lag_seconds_sum')).toBeGreaterThanOrEqual(3);

    // Every known rule is reported, at 0 unless alerts of it fire.
    expect(await value('ferry_alerts_firing', { rule: 'disk_low' })).toBe(0);
    const alert = (fingerprint: string, status: 'firing' | 'resolved') => ({
      fingerprint,
      rule: 'disk_low',
      labels: JSON.stringify({ alertname: 'disk_low', instance: fingerprint }),
      annotations: JSON.stringify({ summary: 'disk low' }),
      status,
      group_key: '{}',
      starts_at: new Date(),
      ends_at: null,
      updated_at: new Date(),
      muted_by: null,
      last_notified_at: null,
      resolved_notified_at: null,
    });
    await env.db.insertInto('alerts').values([alert('a1', 'firing'), alert('a2', 'firing'), alert('a3', 'resolved')]).execute();
    expect(await value('ferry_alerts_firing', { rule: 'disk_low' })).toBe(2);
    expect(await value('ferry_alerts_firing', { rule: 'heartbeat_missing' })).toBe(0);
    expect(await value('ferry_outbox_pending')).toBe(0);

    // A stopped monitor no longer reports the state of its database.
    await monitor.stop();
    expect(await value('ferry_alerts_firing', { rule: 'disk_low' })).toBeUndefined();
  });

  it('counts notification tries by channel and outcome, and the outbox backlog', async () => {
    const env = await integration('monoutbox');
    const receiver = await new TestReceiver().start();
    closers.push(() => env.close(), () => receiver.close());
    const untrack = trackState(env.db, testLogger('monitor'));
    closers.push(() => Promise.resolve(untrack()));
    let now = Date.now();
    const receivers: Receiver[] = [{ name: 'ops', kind: 'slack', url: receiver.url('/slack') }];
    const outbox = new Outbox({ db: env.db, logger: testLogger('monitor'), receivers, now: () => now, retryInitialMs: 1000, retryMaxMs: 10_000, maxAgeMs: 3_600_000, timeoutMs: 5000 });
    const n: Notification = {
      groupKey: '{}:{alertname="disk_low"}',
      groupLabels: { alertname: 'disk_low' },
      status: 'firing',
      reason: 'first',
      alerts: [{ fingerprint: 'f1', status: 'firing', labels: { alertname: 'disk_low' }, annotations: { summary: 'disk low' }, startsAt: now, endsAt: null }],
    };
    const count = async (outcome: string) => (await value('ferry_notifications_total', { channel: 'slack', outcome })) ?? 0;
    const before = { sent: await count('sent'), retried: await count('retried') };
    await storeNotification(env.db, n, now, receivers, { publicUrl: 'http://ferry.test' });
    expect(await value('ferry_outbox_pending')).toBe(1);

    receiver.failures = 1;
    expect(await outbox.deliverDue()).toMatchObject({ retried: 1 });
    now += 1000;
    expect(await outbox.deliverDue()).toMatchObject({ sent: 1 });
    expect((await count('retried')) - before.retried).toBe(1);
    expect((await count('sent')) - before.sent).toBe(1);
    expect(await value('ferry_outbox_pending')).toBe(0);
  });
});
