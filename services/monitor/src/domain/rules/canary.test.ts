import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { canaryFailed } from './canary.js';
import type { CanaryState } from './types.js';

const clock = new FakeClock();
const MIN = 60_000;
const settings = defaultAlertSettings();

function canary(overrides: Partial<CanaryState>): CanaryState {
  return { instrument: 'canary', instance: 'sched-1', result: 'ok', checkedAt: clock.ms - MIN, latencyMs: 4000, limitMs: 2 * MIN, intervalMs: 5 * MIN, detail: null, lastOkAt: clock.ms - MIN, ...overrides };
}

describe('canary_failed', () => {
  it('is quiet while the last check came back ok in time', () => {
    expect(canaryFailed.evaluate({ now: clock.ms, settings, snapshot: { canaries: [canary({})] } })).toEqual([]);
  });

  it('fires for a late or failed check, naming the instrument and the reason', () => {
    const late = canary({ result: 'late', detail: 'stored, but not processed in time', lastOkAt: clock.ms - 20 * MIN });
    const failed = canary({ instrument: 'canary2', result: 'failed', detail: 'upload failed: AccessDenied', lastOkAt: null });
    const alerts = canaryFailed.evaluate({ now: clock.ms, settings, snapshot: { canaries: [late, failed] } }) ?? [];
    expect(alerts.map((a) => a.labels)).toEqual([
      { alertname: 'canary_failed', severity: 'critical', instrument: 'canary' },
      { alertname: 'canary_failed', severity: 'critical', instrument: 'canary2' },
    ]);
    expect(alerts[0]?.annotations.summary).toBe('The canary file on canary was not done within 2m');
    expect(alerts[0]?.annotations.description).toContain('stored, but not processed in time');
    expect(alerts[0]?.annotations.description).toContain('The last good check was at');
    expect(alerts[1]?.annotations.summary).toBe('The canary file on canary2 failed');
    expect(alerts[1]?.annotations.description).toContain('AccessDenied');
  });

  it('fires when results stop coming for two intervals, even after an ok', () => {
    const quiet = canary({ checkedAt: clock.ms - 13 * MIN });
    expect(canaryFailed.evaluate({ now: clock.ms, settings, snapshot: { canaries: [quiet] } })).toEqual([]);
    const stopped = canary({ checkedAt: clock.ms - 15 * MIN });
    const [alert] = canaryFailed.evaluate({ now: clock.ms, settings, snapshot: { canaries: [stopped] } }) ?? [];
    expect(alert?.annotations.summary).toBe('No canary result from canary for 15m');
  });

  it('cannot look when the canaries could not be read', () => {
    expect(canaryFailed.evaluate({ now: clock.ms, settings, snapshot: {} })).toBeUndefined();
  });
});
