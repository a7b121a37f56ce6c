import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { backupMissing } from './backup-missing.js';

const clock = new FakeClock();
const HOUR = 3_600_000;
const settings = defaultAlertSettings();

describe('backup_missing', () => {
  it('fires when the last verified backup is older than 26 h', () => {
    const good = { lastVerifiedAt: clock.ms - 25 * HOUR, last: { finishedAt: clock.ms - 25 * HOUR, verified: true, error: null } };
    expect(backupMissing.evaluate({ now: clock.ms, settings, snapshot: { backups: good, since: clock.ms - 100 * HOUR } })).toEqual([]);
    const failedSince = { lastVerifiedAt: clock.ms - 27 * HOUR, last: { finishedAt: clock.ms - HOUR, verified: false, error: 'pg_dump: connection refused' } };
    const [alert] = backupMissing.evaluate({ now: clock.ms, settings, snapshot: { backups: failedSince, since: clock.ms - 100 * HOUR } }) ?? [];
    expect(alert?.labels).toEqual({ alertname: 'backup_missing', severity: 'critical' });
    expect(alert?.annotations.summary).toBe('The last verified backup is 27h old');
    expect(alert?.annotations.description).toContain('failed: pg_dump: connection refused');
  });

  it('counts from the first run when there was never a backup', () => {
    const none = { lastVerifiedAt: null, last: null };
    expect(backupMissing.evaluate({ now: clock.ms, settings, snapshot: { backups: none, since: clock.ms - 20 * HOUR } })).toEqual([]);
    const [alert] = backupMissing.evaluate({ now: clock.ms, settings, snapshot: { backups: none, since: clock.ms - 30 * HOUR } }) ?? [];
    expect(alert?.annotations.summary).toBe('No verified backup since monitoring began 30h ago');
  });

  it('ignores an unverified backup', () => {
    const unverified = { lastVerifiedAt: null, last: { finishedAt: clock.ms - HOUR, verified: false, error: null } };
    const [alert] = backupMissing.evaluate({ now: clock.ms, settings, snapshot: { backups: unverified, since: clock.ms - 30 * HOUR } }) ?? [];
    expect(alert?.annotations.description).toContain('could not be verified');
  });
});
