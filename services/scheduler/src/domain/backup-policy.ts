/** Why a backup was taken: on the hourly or nightly schedule, or on an operator's request. */
export type BackupKind = 'hourly' | 'nightly' | 'manual';

/** `20250102T030405Z`: sortable, and safe in object keys. */
export function compactTime(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** The inverse of {@link compactTime}; undefined for anything else. */
export function parseCompactTime(text: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * Where a backup lives in its zone, without the zone's prefix:
 * `backups/<database>/<time>-<kind>.dump`, and its report beside it as `.json`.
 */
export function backupBaseKey(database: string, at: Date, kind: BackupKind): string {
  return `backups/${database.replace(/[^A-Za-z0-9_.-]/g, '_')}/${compactTime(at)}-${kind}`;
}

/** What a backup's key says about it. */
export interface BackupName {
  /** The key without `.dump` / `.json`. */
  base: string;
  at: Date;
  kind: string;
}

/** Reads a backup's time and kind from its key (either file); undefined for other keys. */
export function parseBackupKey(key: string): BackupName | undefined {
  const m = /^(.*\/(\d{8}T\d{6}Z)-([a-z]+))\.(dump|json)$/.exec(key);
  if (!m) return undefined;
  const at = parseCompactTime(m[2] ?? '');
  return at ? { base: m[1] ?? '', at, kind: m[3] ?? '' } : undefined;
}

/** How many backups to keep. */
export interface BackupPolicy {
  /** The newest backup of each of the last N hours that have one. */
  hourly: number;
  /** The newest backup of each of the last N days (UTC) that have one. */
  daily: number;
  /** The newest backup of each of the last N ISO weeks that have one. */
  weekly: number;
  /** Backups that failed their verification (or whose verification never finished) are kept this long, for inspection. */
  keepFailedMs: number;
}

/** One stored backup as the policy sees it. */
export interface BackupEntry {
  id: string;
  at: Date;
  verified: boolean;
}

/** The default policy: 24 hourly, 7 daily, 8 weekly; failed ones for a week. */
export const DEFAULT_BACKUP_POLICY: BackupPolicy = { hourly: 24, daily: 7, weekly: 8, keepFailedMs: 7 * 86_400_000 };

const hourOf = (at: Date) => at.toISOString().slice(0, 13);
const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** ISO 8601 week, `2025-W01`: Monday to Sunday, week 1 holds the year's first Thursday. */
export function isoWeek(at: Date): string {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * The backups to delete under a grandfather-father-son policy. Only verified backups
 * fill the hourly, daily and weekly slots, so a run of broken backups never pushes the
 * last good ones out; a failed one is deleted once older than `keepFailedMs`. Nothing
 * newer than `now` is ever deleted (clock skew between hosts). Pure: `now` is given.
 */
export function backupsToDelete(entries: readonly BackupEntry[], policy: BackupPolicy, now: Date): string[] {
  const keep = new Set<string>();
  const good = entries.filter((e) => e.verified).sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1));
  for (const [slots, bucketOf] of [
    [policy.hourly, hourOf],
    [policy.daily, dayOf],
    [policy.weekly, isoWeek],
  ] as const) {
    const seen = new Set<string>();
    for (const e of good) {
      if (seen.size >= slots) break;
      const bucket = bucketOf(e.at);
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      keep.add(e.id);
    }
  }
  return entries
    .filter((e) => {
      if (keep.has(e.id) || e.at.getTime() > now.getTime()) return false;
      if (!e.verified) return now.getTime() - e.at.getTime() > policy.keepFailedMs;
      return true;
    })
    .map((e) => e.id)
    .sort();
}
