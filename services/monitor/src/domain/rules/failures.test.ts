import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { jobFailed, uploadFailed } from './failures.js';
import type { FailureGroup } from './types.js';

const clock = new FakeClock();
const settings = defaultAlertSettings();
const failures: FailureGroup[] = [
  { kind: 'upload', instrument: 'ms1', pipeline: '', count: 1, lastAt: clock.ms, examples: [{ path: 'a.raw', error: 'access denied' }] },
  { kind: 'job', instrument: 'ms1', pipeline: 'convert', count: 3, lastAt: clock.ms, examples: [{ path: 'b.raw', error: 'exit code 2' }] },
];

describe('upload_failed and job_failed', () => {
  it('fire per instrument (and pipeline) for failures that are final', () => {
    const [upload] = uploadFailed.evaluate({ now: clock.ms, settings, snapshot: { failures } }) ?? [];
    expect(upload?.labels).toEqual({ alertname: 'upload_failed', severity: 'warning', instrument: 'ms1' });
    expect(upload?.annotations.summary).toBe('1 file of ms1 failed for good at upload');
    expect(upload?.annotations.description).toContain('a.raw: access denied');
    const [job] = jobFailed.evaluate({ now: clock.ms, settings, snapshot: { failures } }) ?? [];
    expect(job?.labels).toEqual({ alertname: 'job_failed', severity: 'warning', instrument: 'ms1', pipeline: 'convert' });
    expect(job?.annotations.summary).toBe('3 files of ms1 failed for good at job convert');
  });

  it('resolve when nothing failed within the window', () => {
    expect(uploadFailed.evaluate({ now: clock.ms, settings, snapshot: { failures: [] } })).toEqual([]);
    expect(jobFailed.evaluate({ now: clock.ms, settings, snapshot: {} })).toBeUndefined();
  });
});
