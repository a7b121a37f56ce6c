import { setupTelemetry, type EventOf } from '@ferry/common';
import { testLogger, waitFor } from '@ferry/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { Projection } from './adapters/projection.js';
import { AlertEngine, type AlertingOptions } from './alerting.js';
import { createMonitor } from './app.js';
import { defaultAlertSettings } from './domain/settings.js';
import type { Receiver } from './notifiers/index.js';
import type { AlertmanagerWebhookBody } from './notifiers/webhook.js';
import { createSilence, expireSilence } from './silences.js';
import { FakeClock } from './testing/clock.js';
import { integration, TestReceiver } from './testing/fixtures.js';

setupTelemetry({ service: 'monitor-test' });

const MIN = 60_000;
const HOUR = 60 * MIN;

// Rules that need nothing but heartbeats; probes are tested on their own.
const settings = defaultAlertSettings({ dependencies: { enabled: false }, backup: { enabled: false }, disk: { enabled: false } });

function heartbeat(clock: FakeClock, instance: string, agoMs: number, instrument?: string): EventOf<'heartbeat'> {
  return {
    service: instrument ? 'watcher' : 'uploader',
    instance,
    version: '1',
    at: clock.iso(-agoMs),
    intervalMs: 30_000,
    startedAt: clock.iso(-2 * HOUR),
    disks: [],
    details: instrument ? { instrument } : {},
  };
}

describe('alert engine against real NATS, PostgreSQL and a local receiver', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function setup() {
    const env = await integration('alerts');
    const receiver = await new TestReceiver().start();
    closers.push(() => env.close(), () => receiver.close());
    // Near the real time: the monitor's own heartbeat, sent with the real clock, must look fresh.
    const clock = new FakeClock(Date.now());
    const receivers: Receiver[] = [
      { name: 'slack', kind: 'slack', url: receiver.url('/slack') },
      { name: 'webhook', kind: 'webhook', url: receiver.url('/hook') },
    ];
    const options: AlertingOptions = { manual: true, settings, receivers, now: clock.now, publicUrl: 'https://ferry.lab.example' };
    const engine = (extra: Partial<AlertingOptions> = {}) => {
      const e = new AlertEngine({ db: env.db, bus: env.bus, logger: testLogger('monitor'), options: { ...options, ...extra } });
      closers.push(() => e.stop());
      return e;
    };
    const projection = new Projection(env.db);
    return { ...env, receiver, clock, options, engine, projection };
  }

  it('turns a missed heartbeat into one Slack message and one Alertmanager webhook, then a resolved one', async () => {
    const { bus, db, receiver, clock, options } = await setup();
    const monitor = createMonitor({ bus, db, logger: testLogger('monitor'), instance: 'test', alerting: options });
    closers.push(() => monitor.stop());
    await monitor.start();
    const engine = monitor.alerts!;
    await bus.publish('heartbeat', heartbeat(clock, 'ms1-pc', 20 * MIN, 'ms1'));
    await bus.publish('heartbeat', heartbeat(clock, 'w1', 10_000));
    await waitFor('both components projected', async () => (await db.selectFrom('components').select('instance').where('instance', 'in', ['ms1-pc', 'w1']).execute()).length === 2);

    const first = await engine.evaluate();
    expect(first).toMatchObject({ started: 1, firing: 1, notifications: [] });
    clock.advance(30_000);
    const second = await engine.evaluate();
    expect(second.notifications.map((n) => n.reason)).toEqual(['first']);
    expect(await engine.deliver()).toEqual({ sent: 2, retried: 0, failed: 0 });

    const hook = receiver.on('/hook')[0]?.body as AlertmanagerWebhookBody;
    const fp = hook.alerts[0]?.fingerprint ?? '';
    expect(hook).toMatchObject({
      version: '4',
      groupKey: '{}:{alertname="heartbeat_missing",instrument="ms1"}',
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'heartbeat_missing', instrument: 'ms1' },
      commonLabels: { alertname: 'heartbeat_missing', severity: 'critical', service: 'watcher', instance: 'ms1-pc', instrument: 'ms1' },
      externalURL: 'https://ferry.lab.example/alerts',
    });
    expect(hook.alerts).toEqual([
      {
        status: 'firing',
        labels: { alertname: 'heartbeat_missing', severity: 'critical', service: 'watcher', instance: 'ms1-pc', instrument: 'ms1' },
        annotations: expect.objectContaining({ summary: 'watcher ms1-pc has sent no heartbeat for 20m' }) as unknown,
        startsAt: clock.iso(-30_000),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: `https://ferry.lab.example/alerts?fingerprint=${fp}`,
        fingerprint: fp,
      },
    ]);
    const slack = receiver.on('/slack')[0]?.body as { text: string; blocks: unknown[] };
    expect(slack.text).toBe('[FIRING:1] heartbeat_missing (ms1)');
    expect(JSON.stringify(slack.blocks)).toContain('<https://ferry.lab.example/alerts|Open alerts in Ferry>');

    // alert.firing is on the bus.
    const firing = await bus.jsm.streams.getMessage(bus.streamName('OPS'), { last_by_subj: bus.subject('alert.firing') });
    expect(firing?.json()).toMatchObject({ fingerprint: fp, rule: 'heartbeat_missing', summary: 'watcher ms1-pc has sent no heartbeat for 20m' });

    // The watcher is back.
    clock.advance(MIN);
    await bus.publish('heartbeat', heartbeat(clock, 'ms1-pc', 0, 'ms1'));
    await waitFor('fresh heartbeat projected', async () => (await db.selectFrom('components').select('last_seen_at').where('instance', '=', 'ms1-pc').executeTakeFirst())?.last_seen_at.getTime() === clock.ms);
    expect(await engine.evaluate()).toMatchObject({ resolved: 1, notifications: [] }); // within the group interval
    clock.advance(5 * MIN);
    expect((await engine.evaluate()).notifications.map((n) => n.status)).toEqual(['resolved']);
    await engine.deliver();
    const resolved = receiver.on('/hook')[1]?.body as AlertmanagerWebhookBody;
    expect(resolved).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved', fingerprint: fp, endsAt: clock.iso(-5 * MIN) }] });
    expect(JSON.stringify(receiver.on('/slack')[1]?.body)).toContain('resolved after 1m');
    const ended = await bus.jsm.streams.getMessage(bus.streamName('OPS'), { last_by_subj: bus.subject('alert.resolved') });
    expect(ended?.json()).toMatchObject({ fingerprint: fp, endsAt: clock.iso(-5 * MIN) });

    const stored = await db.selectFrom('alerts').selectAll().execute();
    expect(stored).toMatchObject([{ fingerprint: fp, status: 'resolved', firing_published: true, resolved_published: true }]);
    expect((await db.selectFrom('notifications').select(['status', 'reason']).orderBy('id').execute()).map((n) => n.reason)).toEqual(['first', 'resolved']);
    expect(await db.selectFrom('alert_groups').selectAll().execute()).toEqual([]);
  });

  it('does not notify again after a restart, and repeats on time', async () => {
    const { receiver, clock, engine, projection } = await setup();
    await projection.apply('heartbeat', heartbeat(clock, 'w1', 20 * MIN));
    await projection.apply('heartbeat', heartbeat(clock, 'w2', 20 * MIN));
    const before = engine();
    await before.evaluate();
    clock.advance(30_000);
    await before.evaluate();
    await before.deliver();
    await before.stop();
    expect(receiver.on('/hook')).toHaveLength(1);
    expect((receiver.on('/hook')[0]?.body as AlertmanagerWebhookBody).alerts).toHaveLength(2);

    const after = engine();
    for (let i = 0; i < 10; i++) {
      clock.advance(15_000);
      expect((await after.evaluate()).notifications).toEqual([]);
    }
    await after.deliver();
    expect(receiver.on('/hook')).toHaveLength(1);
    clock.advance(4 * HOUR);
    expect((await after.evaluate()).notifications.map((n) => n.reason)).toEqual(['repeat']);
  });

  it('keeps silenced alerts out of messages until the silence is expired', async () => {
    const { db, clock, engine, projection } = await setup();
    await projection.apply('heartbeat', heartbeat(clock, 'w1', 20 * MIN));
    const silence = await createSilence(db, { matchers: ['instance="w1"'], endsAt: new Date(clock.ms + 2 * HOUR), createdBy: 'ops', comment: 'replacing the disk', now: clock.now });
    const e = engine();
    await e.evaluate();
    clock.advance(MIN);
    expect((await e.evaluate()).notifications).toEqual([]);
    expect(await db.selectFrom('alerts').select('muted_by').executeTakeFirst()).toEqual({ muted_by: `silence:${silence.id}` });
    expect(await expireSilence(db, silence.id, clock.now)).toBe(true);
    expect(await expireSilence(db, silence.id, clock.now)).toBe(false);
    clock.advance(1000);
    expect((await e.evaluate()).notifications.map((n) => n.reason)).toEqual(['first']);
    await expect(createSilence(db, { matchers: ['instance=~".*"'], endsAt: new Date(clock.ms + HOUR), createdBy: 'ops', now: clock.now })).rejects.toThrow(/something specific/);
  });

  it('inhibits the pile-up alerts of an instrument whose watcher is down', async () => {
    const { db, clock, engine, projection } = await setup();
    await projection.apply('heartbeat', heartbeat(clock, 'ms1-pc', 20 * MIN, 'ms1'));
    for (let i = 0; i < 7; i++) {
      const sha = String(i).padStart(64, 'a');
      await projection.apply('file.detected', { fileId: `f${i}`, instrument: 'ms1', path: `run-${i}.raw`, root: '/data', kind: 'file', size: 1, sha256: sha, mtime: clock.iso(-MIN), detectedAt: clock.iso(-MIN), watcher: 'ms1-pc' });
    }
    const e = engine();
    const first = await e.evaluate();
    expect(first.started).toBe(2);
    clock.advance(30_000);
    const sent = await e.evaluate();
    expect(sent.notifications.map((n) => n.groupKey)).toEqual(['{}:{alertname="heartbeat_missing",instrument="ms1"}']);
    const muted = await db.selectFrom('alerts').select(['rule', 'muted_by']).where('rule', '=', 'files_piling_up').executeTakeFirstOrThrow();
    expect(muted.muted_by).toMatch(/^inhibited:/);
  });

  it('lets one instance lead at a time, and hands over when it stops', async () => {
    const { engine } = await setup();
    const a = engine({ leaderCheckIntervalMs: 100 });
    const b = engine({ leaderCheckIntervalMs: 100 });
    a.leader.start();
    b.leader.start();
    const first = await waitFor('a leader', () => (a.leader.isLeader() ? a : b.leader.isLeader() ? b : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect([a.leader.isLeader(), b.leader.isLeader()].filter(Boolean)).toHaveLength(1);
    const other = first === a ? b : a;
    await first.leader.stop();
    await waitFor('the other instance to take over', () => other.leader.isLeader());
    // The new leader's evaluations pass the leader-lock check.
    await expect(other.evaluate()).resolves.toMatchObject({ evaluatedRules: expect.arrayContaining(['heartbeat_missing']) as unknown });
  });

  it('runs on its own once started: elects itself, evaluates on its timer and delivers', async () => {
    const { bus, db, receiver } = await setup();
    const monitor = createMonitor({
      bus,
      db,
      logger: testLogger('monitor'),
      instance: 'auto',
      alerting: {
        settings: defaultAlertSettings({ evaluationInterval: 200, grouping: { wait: 0 }, dependencies: { enabled: false }, backup: { enabled: false }, disk: { enabled: false } }),
        receivers: [{ name: 'webhook', kind: 'webhook', url: receiver.url('/hook') }],
        deliveryIntervalMs: 100,
        leaderCheckIntervalMs: 100,
      },
    });
    closers.push(() => monitor.stop());
    await monitor.start();
    await bus.publish('heartbeat', heartbeat(new FakeClock(Date.now()), 'w9', 20 * MIN));
    const hit = await waitFor('the webhook', () => receiver.on('/hook')[0], { timeoutMs: 20_000 });
    expect(hit.body).toMatchObject({ status: 'firing', alerts: [{ labels: { alertname: 'heartbeat_missing', instance: 'w9' } }] });
    expect(monitor.alerts?.leader.isLeader()).toBe(true);
  });
});
