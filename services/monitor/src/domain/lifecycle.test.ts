import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/clock.js';
import { fingerprint, parseMatcher } from './labels.js';
import { evaluateLifecycle, type AlertRecord, type GroupRecord, type InhibitRule, type LifecycleOutput, type SilenceRecord } from './lifecycle.js';
import type { AlertCandidate } from './rules/types.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const settings = { groupBy: ['alertname', 'instrument'], groupWaitMs: 30 * SEC, groupIntervalMs: 5 * MIN, repeatIntervalMs: 4 * HOUR };

const missing = (instance: string, instrument?: string): AlertCandidate => ({
  labels: { alertname: 'heartbeat_missing', severity: 'critical', service: instrument ? 'watcher' : 'uploader', instance, ...(instrument ? { instrument } : {}) },
  annotations: { summary: `${instance} is gone` },
});
const pile = (instrument: string): AlertCandidate => ({
  labels: { alertname: 'files_piling_up', severity: 'warning', instrument, status: 'detected' },
  annotations: { summary: `files of ${instrument} piling up` },
});

const WATCHER_DOWN: InhibitRule = {
  source: [parseMatcher('alertname="heartbeat_missing"'), parseMatcher('service="watcher"')],
  target: [parseMatcher('alertname=~"files_piling_up|file_stuck"')],
  equal: ['instrument'],
};

/** Keeps the lifecycle's state between evaluations the way the store does, round-tripped through JSON. */
class Harness {
  alerts: AlertRecord[] = [];
  groups: GroupRecord[] = [];
  silences: SilenceRecord[] = [];
  inhibit: InhibitRule[] = [];
  private nextId = 1;
  readonly clock = new FakeClock();

  run(candidates: AlertCandidate[], evaluated = ['heartbeat_missing', 'files_piling_up']): LifecycleOutput {
    const out = evaluateLifecycle({
      now: this.clock.ms,
      candidates,
      evaluatedRules: new Set(evaluated),
      alerts: this.alerts,
      groups: this.groups,
      silences: this.silences,
      inhibitRules: this.inhibit,
      settings,
    });
    const byId = new Map(this.alerts.map((a) => [a.id, a]));
    for (const w of out.writes) {
      if (w.id === null) w.id = this.nextId++;
      byId.set(w.id, w);
    }
    // What loadState would read back: firing alerts and resolutions still to be told.
    this.alerts = JSON.parse(JSON.stringify([...byId.values()].filter((a) => a.status === 'firing' || (a.lastNotifiedAt !== null && a.resolvedNotifiedAt === null)))) as AlertRecord[];
    const groups = new Map(this.groups.map((g) => [g.groupKey, g]));
    for (const g of out.groups) groups.set(g.groupKey, g);
    for (const k of out.endedGroups) groups.delete(k);
    this.groups = JSON.parse(JSON.stringify([...groups.values()])) as GroupRecord[];
    return out;
  }

  /** Evaluates every 15 s for `ms`, returning every notification on the way. */
  runFor(ms: number, candidates: AlertCandidate[]): LifecycleOutput['notifications'] {
    const sent: LifecycleOutput['notifications'] = [];
    for (let t = 0; t < ms; t += 15 * SEC) {
      this.clock.advance(15 * SEC);
      sent.push(...this.run(candidates).notifications);
    }
    return sent;
  }
}

describe('alert lifecycle', () => {
  it('fires at once but waits 30 s before the first message', () => {
    const h = new Harness();
    const out = h.run([missing('w1')]);
    expect(out.started.map((a) => a.fingerprint)).toEqual([fingerprint(missing('w1').labels)]);
    expect(out.notifications).toEqual([]);
    h.clock.advance(15 * SEC);
    expect(h.run([missing('w1')]).notifications).toEqual([]);
    h.clock.advance(15 * SEC);
    const [n] = h.run([missing('w1')]).notifications;
    expect(n).toMatchObject({ status: 'firing', reason: 'first', groupKey: '{}:{alertname="heartbeat_missing"}', groupLabels: { alertname: 'heartbeat_missing' } });
    expect(n?.alerts.map((a) => a.labels.instance)).toEqual(['w1']);
  });

  it('sends one message for an incident whose alerts arrive within the group wait', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(10 * SEC);
    h.run([missing('w1'), missing('w2')]);
    h.clock.advance(10 * SEC);
    h.run([missing('w1'), missing('w2'), missing('w3')]);
    h.clock.advance(10 * SEC);
    const out = h.run([missing('w1'), missing('w2'), missing('w3')]);
    expect(out.notifications).toHaveLength(1);
    expect(out.notifications[0]?.alerts.map((a) => a.labels.instance)).toEqual(['w1', 'w2', 'w3']);
    // Nothing more for the next hour.
    expect(h.runFor(HOUR, [missing('w1'), missing('w2'), missing('w3')])).toEqual([]);
  });

  it('groups by rule and instrument', () => {
    const h = new Harness();
    h.run([missing('ms1-pc', 'ms1'), missing('ms2-pc', 'ms2'), missing('w1')]);
    h.clock.advance(30 * SEC);
    const keys = h.run([missing('ms1-pc', 'ms1'), missing('ms2-pc', 'ms2'), missing('w1')]).notifications.map((n) => n.groupKey);
    expect(keys.sort()).toEqual(['{}:{alertname="heartbeat_missing",instrument="ms1"}', '{}:{alertname="heartbeat_missing",instrument="ms2"}', '{}:{alertname="heartbeat_missing"}'].sort());
  });

  it('tells of an alert joining a notified group after the group interval, with the whole group', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(30 * SEC);
    expect(h.run([missing('w1')]).notifications).toHaveLength(1);
    h.clock.advance(MIN);
    expect(h.run([missing('w1'), missing('w2')]).notifications).toEqual([]);
    const later = h.runFor(5 * MIN, [missing('w1'), missing('w2')]);
    expect(later.map((n) => [n.reason, n.alerts.length])).toEqual([['update', 2]]);
  });

  it('repeats a group still firing every 4 h, and not before', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(30 * SEC);
    h.run([missing('w1')]);
    const sent = h.runFor(8 * HOUR + MIN, [missing('w1')]);
    expect(sent.map((n) => n.reason)).toEqual(['repeat', 'repeat']);
  });

  it('sends a resolved message when it clears, then starts a new group for the next incident', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(30 * SEC);
    h.run([missing('w1')]);
    h.clock.advance(10 * MIN);
    const out = h.run([]);
    expect(out.resolved).toHaveLength(1);
    expect(out.notifications).toHaveLength(1);
    const [n] = out.notifications;
    expect(n).toMatchObject({ status: 'resolved', reason: 'resolved' });
    expect(n?.alerts[0]).toMatchObject({ status: 'resolved', endsAt: h.clock.ms });
    expect(out.endedGroups).toEqual(['{}:{alertname="heartbeat_missing"}']);
    expect(h.alerts).toEqual([]);
    // A new incident waits for its own group wait.
    h.clock.advance(MIN);
    expect(h.run([missing('w1')]).notifications).toEqual([]);
    h.clock.advance(30 * SEC);
    expect(h.run([missing('w1')]).notifications.map((x) => x.reason)).toEqual(['first']);
  });

  it('waits for the group interval before a resolved message that follows closely', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(30 * SEC);
    h.run([missing('w1')]);
    h.clock.advance(MIN);
    expect(h.run([]).notifications).toEqual([]);
    const sent = h.runFor(5 * MIN, []);
    expect(sent.map((n) => n.status)).toEqual(['resolved']);
  });

  it('never announces an alert that resolved before anyone was told', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(15 * SEC);
    const out = h.run([]);
    expect(out.resolved).toHaveLength(1);
    expect(h.runFor(HOUR, [])).toEqual([]);
    expect(h.alerts).toEqual([]);
    expect(h.groups).toEqual([]);
  });

  it('keeps alerts of a rule that could not run', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(MIN);
    const out = h.run([], ['files_piling_up']);
    expect(out.resolved).toEqual([]);
    expect(h.alerts.map((a) => a.status)).toEqual(['firing']);
  });

  it('does not repeat a resolution when an alert flaps back before it was sent', () => {
    const h = new Harness();
    h.run([missing('w1')]);
    h.clock.advance(30 * SEC);
    h.run([missing('w1')]);
    h.clock.advance(MIN);
    h.run([]);
    h.clock.advance(MIN);
    const back = h.run([missing('w1')]);
    expect(back.started).toHaveLength(1);
    // Firing again under the same fingerprint, already announced: nothing new to say.
    expect(h.runFor(HOUR, [missing('w1')])).toEqual([]);
  });

  it('mutes silenced alerts, and tells of them once the silence ends', () => {
    const h = new Harness();
    h.silences = [{ id: 's1', matchers: [parseMatcher('instance="w1"')], startsAt: h.clock.ms, endsAt: h.clock.ms + HOUR }];
    h.run([missing('w1'), missing('w2')]);
    h.clock.advance(30 * SEC);
    const [n] = h.run([missing('w1'), missing('w2')]).notifications;
    expect(n?.alerts.map((a) => a.labels.instance)).toEqual(['w2']);
    expect(h.alerts.find((a) => a.labels.instance === 'w1')?.mutedBy).toBe('silence:s1');
    const later = h.runFor(HOUR, [missing('w1'), missing('w2')]);
    expect(later.map((x) => [x.reason, x.alerts.map((a) => a.labels.instance).sort()])).toEqual([['update', ['w1', 'w2']]]);
  });

  it('sends nothing for a group whose alerts are all silenced, not even their resolution', () => {
    const h = new Harness();
    h.silences = [{ id: 's1', matchers: [parseMatcher('alertname="heartbeat_missing"')], startsAt: h.clock.ms, endsAt: h.clock.ms + 2 * HOUR }];
    expect(h.runFor(HOUR, [missing('w1')])).toEqual([]);
    expect(h.runFor(10 * MIN, [])).toEqual([]);
  });

  it('mutes the pile-up alerts of an instrument whose watcher is down', () => {
    const h = new Harness();
    h.inhibit = [WATCHER_DOWN];
    const all = [missing('ms1-pc', 'ms1'), pile('ms1'), pile('ms2')];
    h.run(all);
    h.clock.advance(30 * SEC);
    const sent = h.run(all).notifications;
    expect(sent.map((n) => n.groupKey).sort()).toEqual(['{}:{alertname="files_piling_up",instrument="ms2"}', '{}:{alertname="heartbeat_missing",instrument="ms1"}']);
    expect(h.alerts.find((a) => a.rule === 'files_piling_up' && a.labels.instrument === 'ms1')?.mutedBy).toBe(`inhibited:${fingerprint(missing('ms1-pc', 'ms1').labels)}`);
    // The watcher is back but files still pile up: now that is news.
    h.clock.advance(MIN);
    const after = h.run([pile('ms1'), pile('ms2')]).notifications;
    expect(after.map((n) => n.groupKey)).toEqual(['{}:{alertname="files_piling_up",instrument="ms1"}']);
  });

  it('carries on after a restart from the stored state: no burst, repeats on time', () => {
    const h = new Harness();
    h.run([missing('w1'), missing('ms1-pc', 'ms1')]);
    h.clock.advance(30 * SEC);
    expect(h.run([missing('w1'), missing('ms1-pc', 'ms1')]).notifications).toHaveLength(2);
    // A new process: only what was stored (already JSON round-tripped by the harness) survives.
    const restarted = new Harness();
    restarted.alerts = h.alerts;
    restarted.groups = h.groups;
    restarted.clock.ms = h.clock.ms + 2 * MIN;
    expect(restarted.run([missing('w1'), missing('ms1-pc', 'ms1')]).notifications).toEqual([]);
    restarted.clock.ms = h.clock.ms + 4 * HOUR;
    expect(restarted.run([missing('w1'), missing('ms1-pc', 'ms1')]).notifications.map((n) => n.reason)).toEqual(['repeat', 'repeat']);
  });
});
