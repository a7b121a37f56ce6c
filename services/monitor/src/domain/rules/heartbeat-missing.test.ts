import { describe, expect, it } from 'vitest';
import { component, FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { heartbeatMissing } from './heartbeat-missing.js';

const clock = new FakeClock();
const MIN = 60_000;

describe('heartbeat_missing', () => {
  it('fires once the last heartbeat is older than 15 minutes, not before', () => {
    const settings = defaultAlertSettings();
    const beat = component({ lastSeenAt: clock.ms - 15 * MIN });
    expect(heartbeatMissing.evaluate({ now: clock.ms, settings, snapshot: { components: [beat] } })).toEqual([]);
    const late = component({ lastSeenAt: clock.ms - 15 * MIN - 1 });
    const [alert] = heartbeatMissing.evaluate({ now: clock.ms, settings, snapshot: { components: [late] } }) ?? [];
    expect(alert?.labels).toEqual({ alertname: 'heartbeat_missing', severity: 'critical', service: 'uploader', instance: 'w1' });
    expect(alert?.annotations.summary).toBe('uploader w1 has sent no heartbeat for 15m');
  });

  it('takes the limit per component type, then per component, and labels watchers with their instrument', () => {
    const settings = defaultAlertSettings({ heartbeat: { services: { watcher: '1h' }, instances: { 'watcher/ms2-pc': '5m' } } });
    const ms1 = component({ service: 'watcher', instance: 'ms1-pc', lastSeenAt: clock.ms - 30 * MIN, details: { instrument: 'ms1' } });
    const ms2 = component({ service: 'watcher', instance: 'ms2-pc', lastSeenAt: clock.ms - 6 * MIN, details: { instrument: 'ms2' } });
    const found = heartbeatMissing.evaluate({ now: clock.ms, settings, snapshot: { components: [ms1, ms2] } }) ?? [];
    expect(found.map((a) => a.labels)).toEqual([{ alertname: 'heartbeat_missing', severity: 'critical', service: 'watcher', instance: 'ms2-pc', instrument: 'ms2' }]);
  });

  it('never alerts before two of the component’s own intervals have passed', () => {
    const settings = defaultAlertSettings({ heartbeat: { after: '1m' } });
    const slow = component({ intervalMs: 5 * MIN, lastSeenAt: clock.ms - 8 * MIN });
    expect(heartbeatMissing.evaluate({ now: clock.ms, settings, snapshot: { components: [slow] } })).toEqual([]);
  });

  it('forgets components retired for a week', () => {
    const settings = defaultAlertSettings();
    const retired = component({ lastSeenAt: clock.ms - 8 * 86_400_000 });
    expect(heartbeatMissing.evaluate({ now: clock.ms, settings, snapshot: { components: [retired] } })).toEqual([]);
  });

  it('cannot say anything without the components, and resolves everything when disabled', () => {
    expect(heartbeatMissing.evaluate({ now: clock.ms, settings: defaultAlertSettings(), snapshot: {} })).toBeUndefined();
    expect(heartbeatMissing.evaluate({ now: clock.ms, settings: defaultAlertSettings({ heartbeat: { enabled: false } }), snapshot: {} })).toEqual([]);
  });
});
