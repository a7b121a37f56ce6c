import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { fileStuck, filesPilingUp } from './files-piling-up.js';
import type { WaitingFiles } from './types.js';

const clock = new FakeClock();
const waiting = (w: Partial<WaitingFiles>): WaitingFiles => ({ instrument: 'ms1', status: 'queued', count: 1, overdue: [], overdueCount: 0, ...w });

describe('files_piling_up', () => {
  it('fires at more than 5 files in one waiting status of one instrument', () => {
    const settings = defaultAlertSettings();
    expect(filesPilingUp.evaluate({ now: clock.ms, settings, snapshot: { waiting: [waiting({ count: 5 })] } })).toEqual([]);
    const [alert] = filesPilingUp.evaluate({ now: clock.ms, settings, snapshot: { waiting: [waiting({ count: 6 })] } }) ?? [];
    expect(alert?.labels).toEqual({ alertname: 'files_piling_up', severity: 'warning', instrument: 'ms1', status: 'queued' });
    expect(alert?.annotations.summary).toBe('6 files of ms1 are waiting in queued (limit 5)');
  });

  it('takes a limit per status from the config', () => {
    const settings = defaultAlertSettings({ files: { maxCountPerStatus: { queued: 50 } } });
    expect(filesPilingUp.evaluate({ now: clock.ms, settings, snapshot: { waiting: [waiting({ count: 30 }), waiting({ status: 'stored', count: 6 })] } })?.map((a) => a.labels.status)).toEqual(['stored']);
  });
});

describe('file_stuck', () => {
  it('fires for files in a status longer than its limit, naming the oldest', () => {
    const settings = defaultAlertSettings();
    const w = waiting({ status: 'uploading', overdueCount: 2, overdue: [{ path: 'a.raw', since: clock.ms - 3 * 3_600_000 }, { path: 'b.raw', since: clock.ms - 2.5 * 3_600_000 }] });
    const [alert] = fileStuck.evaluate({ now: clock.ms, settings, snapshot: { waiting: [w] } }) ?? [];
    expect(alert?.labels).toEqual({ alertname: 'file_stuck', severity: 'warning', instrument: 'ms1', status: 'uploading' });
    expect(alert?.annotations.summary).toBe('2 files of ms1 in uploading for longer than 2h');
    expect(alert?.annotations.description).toBe('Oldest: a.raw, in uploading for 3h. Also: b.raw.');
    expect(fileStuck.evaluate({ now: clock.ms, settings, snapshot: { waiting: [waiting({ count: 9 })] } })).toEqual([]);
  });
});
