import { describe, expect, it } from 'vitest';
import { component, FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { diskFullForecast, diskLow } from './disk-space.js';
import type { DiskTrend } from './types.js';

const clock = new FakeClock();
const GB = 1e9;
const HOUR = 3_600_000;
const watcher = (freeBytes: number) =>
  component({ service: 'watcher', instance: 'ms1-pc', lastSeenAt: clock.ms, details: { instrument: 'ms1' }, disks: [{ path: '/data', freeBytes, totalBytes: 2000 * GB }] });

describe('disk_low', () => {
  it('fires under the 200 GB floor, not at it', () => {
    const settings = defaultAlertSettings();
    expect(diskLow.evaluate({ now: clock.ms, settings, snapshot: { components: [watcher(200 * GB)] } })).toEqual([]);
    const [alert] = diskLow.evaluate({ now: clock.ms, settings, snapshot: { components: [watcher(150 * GB)] } }) ?? [];
    expect(alert?.labels).toEqual({ alertname: 'disk_low', severity: 'warning', service: 'watcher', instance: 'ms1-pc', instrument: 'ms1', path: '/data' });
    expect(alert?.annotations.summary).toBe('/data on ms1-pc has 150 GB free (floor 200 GB)');
  });

  it('uses the most specific floor: volume, component, service', () => {
    const c = watcher(60 * GB);
    const at = (floors: Record<string, string>) => diskLow.evaluate({ now: clock.ms, settings: defaultAlertSettings({ disk: { floors } }), snapshot: { components: [c] } })?.length;
    expect(at({ watcher: '50GB' })).toBe(0);
    expect(at({ watcher: '50GB', 'watcher/ms1-pc': '100GB' })).toBe(1);
    expect(at({ 'watcher/ms1-pc': '100GB', 'watcher/ms1-pc:/data': '10GB' })).toBe(0);
  });
});

describe('disk_full_forecast', () => {
  const trend = (slopePerHour: number, overrides: Partial<DiskTrend> = {}): DiskTrend => ({
    service: 'watcher',
    instance: 'ms1-pc',
    path: '/data',
    samples: 12,
    firstAt: clock.ms - HOUR,
    lastAt: clock.ms,
    slope: slopePerHour / HOUR,
    ...overrides,
  });

  it('fires when the volume would be full within 24 h at the fitted rate', () => {
    const settings = defaultAlertSettings();
    // 500 GB free, losing 25 GB/h: full in 20 h.
    const [alert] = diskFullForecast.evaluate({ now: clock.ms, settings, snapshot: { components: [watcher(500 * GB)], diskTrends: [trend(-25 * GB)] } }) ?? [];
    expect(alert?.labels.alertname).toBe('disk_full_forecast');
    expect(alert?.annotations.summary).toBe('/data on ms1-pc will be full in about 20h');
    expect(alert?.annotations.fullAt).toBe(clock.iso(20 * HOUR));
    // Losing 20 GB/h: 25 h left, beyond the horizon.
    expect(diskFullForecast.evaluate({ now: clock.ms, settings, snapshot: { components: [watcher(500 * GB)], diskTrends: [trend(-20 * GB)] } })).toEqual([]);
  });

  it('does not forecast from too few samples, too short a span, or a disk that is emptying', () => {
    const settings = defaultAlertSettings();
    const run = (t: DiskTrend) => diskFullForecast.evaluate({ now: clock.ms, settings, snapshot: { components: [watcher(100 * GB)], diskTrends: [t] } });
    expect(run(trend(-50 * GB, { samples: 3 }))).toEqual([]);
    expect(run(trend(-50 * GB, { firstAt: clock.ms - 10 * 60_000 }))).toEqual([]);
    expect(run(trend(+5 * GB))).toEqual([]);
    expect(run(trend(-50 * GB))).toHaveLength(1);
  });
});
