import { describe, expect, it } from 'vitest';
import { backupBaseKey, backupsToDelete, compactTime, DEFAULT_BACKUP_POLICY, isoWeek, parseBackupKey, parseCompactTime, type BackupEntry } from './backup-policy.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Backups every hour for `hours` hours before `now`, plus one each night at 02:30. */
function hourlyHistory(now: Date, hours: number): BackupEntry[] {
  const out: BackupEntry[] = [];
  const start = Math.floor(now.getTime() / HOUR) * HOUR;
  for (let i = 0; i < hours; i++) out.push({ id: `h${i}`, at: new Date(start - i * HOUR), verified: true });
  return out;
}

describe('backup keys', () => {
  it('round-trips the compact time and reads kind and time from either file', () => {
    const at = new Date('2025-03-04T05:06:07.890Z');
    expect(compactTime(at)).toBe('20250304T050607Z');
    expect(parseCompactTime('20250304T050607Z')?.toISOString()).toBe('2025-03-04T05:06:07.000Z');
    expect(parseCompactTime('2025-03-04')).toBeUndefined();
    const base = backupBaseKey('ferry', at, 'nightly');
    expect(base).toBe('backups/ferry/20250304T050607Z-nightly');
    expect(parseBackupKey(`pre/${base}.dump`)).toEqual({ base: `pre/${base}`, at: new Date('2025-03-04T05:06:07Z'), kind: 'nightly' });
    expect(parseBackupKey(`${base}.json`)?.kind).toBe('nightly');
    expect(parseBackupKey('backups/ferry/notes.txt')).toBeUndefined();
    expect(backupBaseKey('we ird/db', at, 'manual')).toBe('backups/we_ird_db/20250304T050607Z-manual');
  });

  it('computes ISO weeks across year ends', () => {
    expect(isoWeek(new Date('2025-01-01T12:00:00Z'))).toBe('2025-W01');
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
    expect(isoWeek(new Date('2021-01-03T23:59:59Z'))).toBe('2020-W53');
    expect(isoWeek(new Date('2025-06-16T00:00:00Z'))).toBe('2025-W25');
    expect(isoWeek(new Date('2025-06-15T23:59:59Z'))).toBe('2025-W24');
  });
});

describe('backupsToDelete', () => {
  const now = new Date('2025-06-18T10:20:00Z'); // a Wednesday

  it('keeps nothing extra when there are fewer backups than slots', () => {
    expect(backupsToDelete(hourlyHistory(now, 5), DEFAULT_BACKUP_POLICY, now)).toEqual([]);
  });

  it('keeps 24 hourly, 7 daily and 8 weekly from ten weeks of hourly backups', () => {
    const history = hourlyHistory(now, 70 * 24);
    const doomed = new Set(backupsToDelete(history, DEFAULT_BACKUP_POLICY, now));
    const kept = history.filter((e) => !doomed.has(e.id));
    // The newest 24 hours, then the newest of each earlier day up to 7 days, then of each week up to 8 weeks.
    const hourly = kept.filter((e) => now.getTime() - e.at.getTime() < 24 * HOUR);
    expect(hourly).toHaveLength(24);
    const days = new Set(kept.map((e) => e.at.toISOString().slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(7);
    const weeks = new Set(kept.map((e) => isoWeek(e.at)));
    expect(weeks.size).toBe(8);
    // Every daily keeper is the last backup of its day (23:00), except today's newest.
    for (const e of kept.filter((k) => now.getTime() - k.at.getTime() >= 24 * HOUR)) expect(e.at.getUTCHours()).toBe(23);
    // 24 hourly (back to yesterday 11:00), 5 more days (16th to 12th: today's and
    // yesterday's newest are hourly ones) and 6 more weeks (this week's and last week's
    // newest are kept already).
    expect(kept.length).toBe(24 + 5 + 6);
    // The oldest kept is the last backup of the 8th ISO week back.
    const oldest = kept[kept.length - 1]!;
    expect(isoWeek(oldest.at)).toBe('2025-W18');
    expect(oldest.at.toISOString()).toBe('2025-05-04T23:00:00.000Z');
  });

  it('never lets failed backups take a slot, and deletes them after the grace period', () => {
    const ok = (id: string, hoursAgo: number): BackupEntry => ({ id, at: new Date(now.getTime() - hoursAgo * HOUR), verified: true });
    const bad = (id: string, hoursAgo: number): BackupEntry => ({ id, at: new Date(now.getTime() - hoursAgo * HOUR), verified: false });
    const policy = { hourly: 2, daily: 0, weekly: 0, keepFailedMs: 3 * DAY };
    const entries = [bad('b1', 1), bad('b2', 2), ok('g3', 3), ok('g4', 4), ok('g5', 5), bad('old-bad', 3 * 24 + 1)];
    // The two newest good ones are kept although broken ones are newer.
    expect(backupsToDelete(entries, policy, now)).toEqual(['g5', 'old-bad']);
  });

  it('keeps a failed backup exactly at the end of its grace period and deletes it 1 ms later', () => {
    const policy = { hourly: 1, daily: 0, weekly: 0, keepFailedMs: DAY };
    const entries: BackupEntry[] = [{ id: 'bad', at: new Date(now.getTime() - DAY), verified: false }];
    expect(backupsToDelete(entries, policy, now)).toEqual([]);
    expect(backupsToDelete(entries, policy, new Date(now.getTime() + 1))).toEqual(['bad']);
  });

  it('keeps the newest backup of an hour when there are several, and never deletes a future one', () => {
    const at = (iso: string, id: string): BackupEntry => ({ id, at: new Date(iso), verified: true });
    const entries = [at('2025-06-18T10:00:00Z', 'hourly'), at('2025-06-18T10:15:00Z', 'manual'), at('2025-06-18T09:00:00Z', 'prev'), at('2025-06-18T11:00:00Z', 'future')];
    const policy = { hourly: 2, daily: 0, weekly: 0, keepFailedMs: DAY };
    // Slots: the future one (hour 11) and the manual one (hour 10); the future one is kept anyway.
    expect(backupsToDelete(entries, policy, now)).toEqual(['hourly', 'prev']);
  });

  it('deletes every verified backup when the policy keeps no slots', () => {
    const entries = hourlyHistory(now, 3);
    expect(backupsToDelete(entries, { hourly: 0, daily: 0, weekly: 0, keepFailedMs: 0 }, now)).toEqual(['h0', 'h1', 'h2']);
  });
});
