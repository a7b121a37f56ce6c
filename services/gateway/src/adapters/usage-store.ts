import type { Database } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { Memo } from '../domain/memo.js';

const DAY_MS = 86_400_000;

/** A zone as the API shows it; the details are for admins only. */
export interface ZoneView {
  name: string;
  kind: 's3' | 'local';
  servedHere: boolean;
  updatedAt: string | null;
  bucket?: string | null;
  endpoint?: string | null;
  region?: string | null;
  prefix?: string;
  dir?: string | null;
  reportedBy?: string | null;
}

/** Storage over time: per zone and day, and uploads per day. */
export interface UsageView {
  days: number;
  from: string;
  to: string;
  totals: { zone: string; files: number; bytes: number }[];
  perZone: { zone: string; days: { day: string; files: number; bytes: number; totalFiles: number; totalBytes: number }[] }[];
  uploads: { day: string; files: number; bytes: number }[];
}

/** What a zone this gateway serves looks like, without credentials. */
export interface ServedZone {
  name: string;
  kind: 's3' | 'local';
  bucket?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  prefix: string;
  dir?: string | undefined;
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Zones (reported by uploaders, kept by the monitor) and what is stored in them. */
export class UsageStore {
  private readonly memo: Memo<UsageView>;

  /** `usageTtlMs`: how long an answer (two scans of the files) is reused, default 60 s. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
    usageTtlMs = 60_000,
  ) {
    this.memo = new Memo(usageTtlMs);
  }

  /**
   * Zones known from heartbeats plus those this gateway serves. Only admins get the
   * details; nobody gets credentials, which are never stored nor reported.
   */
  async zones(served: readonly ServedZone[], details: boolean): Promise<ZoneView[]> {
    const rows = await this.db.selectFrom('zones').selectAll().orderBy('name').execute();
    const servedNames = new Set(served.map((z) => z.name));
    const views = new Map<string, ZoneView>();
    for (const r of rows) {
      views.set(r.name, {
        name: r.name,
        kind: r.kind,
        servedHere: servedNames.has(r.name),
        updatedAt: r.updated_at.toISOString(),
        ...(details ? { bucket: r.bucket, endpoint: r.endpoint, region: r.region, prefix: r.prefix, dir: r.dir, reportedBy: r.reported_by } : {}),
      });
    }
    for (const z of served) {
      if (views.has(z.name)) continue;
      views.set(z.name, {
        name: z.name,
        kind: z.kind,
        servedHere: true,
        updatedAt: null,
        ...(details ? { bucket: z.bucket ?? null, endpoint: z.endpoint ?? null, region: z.region ?? null, prefix: z.prefix, dir: z.dir ?? null, reportedBy: null } : {}),
      });
    }
    return [...views.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Files and bytes first stored per zone and UTC day over the last `days` days (today
   * included), with running totals, and the same summed over zones as uploads per day.
   */
  usage(days: number): Promise<UsageView> {
    return this.memo.get(String(days), () => this.compute(days));
  }

  private async compute(days: number): Promise<UsageView> {
    const today = Math.floor(this.now().getTime() / DAY_MS) * DAY_MS;
    const start = today - (days - 1) * DAY_MS;
    const [daily, totals] = await Promise.all([
      sql<{ zone: string; day: string; files: number; bytes: number }>`
        select zone, to_char(date_trunc('day', stored_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
               count(*)::int as files, coalesce(sum(size), 0)::float8 as bytes
        from files where stored_at >= ${new Date(start)} and zone is not null
        group by 1, 2`.execute(this.db),
      sql<{ zone: string; files: number; bytes: number }>`
        select zone, count(*)::int as files, coalesce(sum(size), 0)::float8 as bytes
        from files where stored_at is not null and zone is not null
        group by zone order by zone`.execute(this.db),
    ]);
    const dayList: string[] = [];
    for (let d = start; d <= today; d += DAY_MS) dayList.push(utcDay(d));
    const byZone = new Map<string, Map<string, { files: number; bytes: number }>>();
    for (const r of daily.rows) {
      let m = byZone.get(r.zone);
      if (!m) byZone.set(r.zone, (m = new Map<string, { files: number; bytes: number }>()));
      m.set(r.day, { files: r.files, bytes: r.bytes });
    }
    const perZone = totals.rows.map((t) => {
      const m = byZone.get(t.zone) ?? new Map<string, { files: number; bytes: number }>();
      let inRange = { files: 0, bytes: 0 };
      for (const v of m.values()) inRange = { files: inRange.files + v.files, bytes: inRange.bytes + v.bytes };
      // Running totals start from what was stored before the range.
      let files = t.files - inRange.files;
      let bytes = t.bytes - inRange.bytes;
      return {
        zone: t.zone,
        days: dayList.map((day) => {
          const v = m.get(day) ?? { files: 0, bytes: 0 };
          files += v.files;
          bytes += v.bytes;
          return { day, files: v.files, bytes: v.bytes, totalFiles: files, totalBytes: bytes };
        }),
      };
    });
    const uploads = dayList.map((day) => {
      let files = 0;
      let bytes = 0;
      for (const m of byZone.values()) {
        files += m.get(day)?.files ?? 0;
        bytes += m.get(day)?.bytes ?? 0;
      }
      return { day, files, bytes };
    });
    return { days, from: dayList[0] ?? utcDay(today), to: utcDay(today), totals: totals.rows, perZone, uploads };
  }
}
