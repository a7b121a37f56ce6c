import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { DependencyTracker, dependencyUnreachable } from './dependencies.js';

describe('dependency_unreachable', () => {
  it('fires once a probe has failed for a minute, and resolves when it answers', () => {
    const clock = new FakeClock();
    const settings = defaultAlertSettings();
    const tracker = new DependencyTracker();
    const round = (redisOk: boolean) => {
      const deps = tracker.update(
        [
          { dependency: 'nats', target: '', ok: true },
          { dependency: 'redis', target: '', ok: redisOk, error: 'connect ECONNREFUSED' },
        ],
        clock.ms,
      );
      return dependencyUnreachable.evaluate({ now: clock.ms, settings, snapshot: {}, dependencies: deps }) ?? [];
    };
    expect(round(false)).toEqual([]);
    clock.advance(30_000);
    expect(round(false)).toEqual([]);
    clock.advance(30_000);
    const [alert] = round(false);
    expect(alert?.labels).toEqual({ alertname: 'dependency_unreachable', severity: 'critical', dependency: 'redis' });
    expect(alert?.annotations).toEqual({ summary: 'Redis has been unreachable for 1m', description: 'connect ECONNREFUSED' });
    clock.advance(15_000);
    expect(round(true)).toEqual([]);
    // One failure after recovery starts the count again.
    clock.advance(15_000);
    expect(round(false)).toEqual([]);
  });

  it('labels zones by name and forgets targets no longer probed', () => {
    const clock = new FakeClock();
    const tracker = new DependencyTracker();
    tracker.update([{ dependency: 'zone', target: 'archive', ok: false, error: 'HTTP 503' }], clock.ms);
    clock.advance(120_000);
    const deps = tracker.update([{ dependency: 'zone', target: 'archive', ok: false, error: 'HTTP 503' }], clock.ms);
    const [alert] = dependencyUnreachable.evaluate({ now: clock.ms, settings: defaultAlertSettings(), snapshot: {}, dependencies: deps }) ?? [];
    expect(alert?.labels).toMatchObject({ dependency: 'zone', zone: 'archive' });
    expect(tracker.update([], clock.ms)).toEqual([]);
  });

  it('cannot say anything when probes did not run', () => {
    expect(dependencyUnreachable.evaluate({ now: 0, settings: defaultAlertSettings(), snapshot: {} })).toBeUndefined();
  });

  it('keeps an alert that fired before a restart firing while the probe still fails', () => {
    const clock = new FakeClock();
    const tracker = new DependencyTracker();
    tracker.seed([{ dependency: 'redis', target: '', failingSince: clock.ms - 5 * 60_000, lastError: 'refused' }]);
    const deps = tracker.update([{ dependency: 'redis', target: '', ok: false, error: 'refused' }], clock.ms);
    expect(dependencyUnreachable.evaluate({ now: clock.ms, settings: defaultAlertSettings(), snapshot: {}, dependencies: deps })).toHaveLength(1);
    expect(tracker.update([{ dependency: 'redis', target: '', ok: true }], clock.ms)[0]?.failingSince).toBeNull();
  });
});
