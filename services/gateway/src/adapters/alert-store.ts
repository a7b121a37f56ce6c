import type { Database } from '@ferry/common';
import { sql, type Kysely, type Selectable } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { Matcher } from '@ferry/common/matchers';
import { silenceState } from '../domain/silence.js';
import { MARK, type ChangePosition, type Changed } from './file-store.js';

/** An alert instance as the API shows it. */
export interface AlertView {
  id: number;
  fingerprint: string;
  rule: string;
  status: 'firing' | 'resolved';
  summary: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string | null;
  updatedAt: string;
  silenced: boolean;
  mutedBy: string | null;
}

/** A silence as the API shows it. */
export interface SilenceView {
  id: string;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt: string;
  updatedAt: string;
  state: 'pending' | 'active' | 'expired';
}

type AlertRow = Selectable<Database['alerts']>;
type SilenceRow = Selectable<Database['silences']>;

/** Maps an `alerts` row to its API form. */
export function toAlertView(r: AlertRow): AlertView {
  return {
    id: r.id,
    fingerprint: r.fingerprint,
    rule: r.rule,
    status: r.status,
    summary: r.annotations.summary ?? r.rule,
    labels: r.labels,
    annotations: r.annotations,
    startsAt: r.starts_at.toISOString(),
    endsAt: r.ends_at?.toISOString() ?? null,
    updatedAt: r.updated_at.toISOString(),
    silenced: r.muted_by?.startsWith('silence:') ?? false,
    mutedBy: r.muted_by,
  };
}

function toSilenceView(r: SilenceRow, now: Date): SilenceView {
  return {
    id: r.id,
    matchers: r.matchers,
    startsAt: r.starts_at.toISOString(),
    endsAt: r.ends_at.toISOString(),
    createdBy: r.created_by,
    comment: r.comment,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    state: silenceState(r.starts_at, r.ends_at, now),
  };
}

/**
 * Alerts (read only: the monitor's alert engine owns them) and silences. Silences are
 * the one table the gateway writes that the monitor reads: rows in the very form the
 * monitor's own `createSilence` writes, picked up at its next evaluation.
 */
export class AlertStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Newest first (by id), before `beforeId` when given; one more than `limit` tells whether more exist. */
  async alerts(options: { state: 'firing' | 'resolved' | 'all'; limit: number; beforeId?: number | undefined }): Promise<{ items: AlertView[]; nextCursor: string | null }> {
    let select = this.db.selectFrom('alerts').selectAll();
    if (options.state !== 'all') select = select.where('status', '=', options.state);
    if (options.beforeId !== undefined) select = select.where('id', '<', options.beforeId);
    const rows = await select.orderBy('id', 'desc').limit(options.limit + 1).execute();
    const page = rows.slice(0, options.limit);
    const last = page.at(-1);
    return { items: page.map(toAlertView), nextCursor: rows.length > options.limit && last ? String(last.id) : null };
  }

  /** Alerts changed after `from`, oldest change first, for the live feed. */
  async alertsChangedSince(from: ChangePosition, limit: number): Promise<Changed<AlertView>[]> {
    let select = this.db.selectFrom('alerts').selectAll().select(sql<string>`${MARK}`.as('mark'));
    select = from.id === undefined ? select.where(sql<boolean>`updated_at > ${from.at}::timestamptz`) : select.where(sql<boolean>`(updated_at, id::text) > (${from.at}::timestamptz, ${from.id})`);
    const rows = await select.orderBy('updated_at').orderBy(sql`id::text`).limit(limit).execute();
    return rows.map((r) => ({ item: toAlertView(r), id: String(r.id), mark: r.mark }));
  }

  /** The newest change time of any alert (microseconds). */
  async lastAlertChange(): Promise<string | undefined> {
    const row = await this.db.selectFrom('alerts').select(sql<string>`${MARK}`.as('mark')).orderBy('updated_at', 'desc').limit(1).executeTakeFirst();
    return row?.mark;
  }

  /** Silences in force or to come (soonest ending first), ended ones (latest first), or all. */
  async silences(state: 'active' | 'expired' | 'all', limit: number): Promise<SilenceView[]> {
    const now = this.now();
    let select = this.db.selectFrom('silences').selectAll();
    if (state === 'active') select = select.where('ends_at', '>', now).orderBy('ends_at', 'asc');
    else if (state === 'expired') select = select.where('ends_at', '<=', now).orderBy('ends_at', 'desc');
    else select = select.orderBy('ends_at', 'desc');
    const rows = await select.orderBy('id').limit(limit).execute();
    return rows.map((r) => toSilenceView(r, now));
  }

  /** Stores a silence (already validated). */
  async createSilence(input: { matchers: Matcher[]; startsAt: Date; endsAt: Date; createdBy: string; comment: string }): Promise<SilenceView> {
    const now = this.now();
    const row = await this.db
      .insertInto('silences')
      .values({
        id: randomUUID(),
        matchers: JSON.stringify(input.matchers),
        starts_at: input.startsAt,
        ends_at: input.endsAt,
        created_by: input.createdBy,
        comment: input.comment,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toSilenceView(row, now);
  }

  /**
   * Ends a silence now. `expired` when it had ended already (nothing changes),
   * `not-found` when there is no such silence.
   */
  async expireSilence(id: string): Promise<'expired' | 'already-ended' | 'not-found'> {
    const now = this.now();
    const result = await this.db
      .updateTable('silences')
      .set({ ends_at: now, updated_at: now, starts_at: sql<Date>`least(starts_at, ${now}::timestamptz)` })
      .where('id', '=', id)
      .where('ends_at', '>', now)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return 'expired';
    const exists = await this.db.selectFrom('silences').select('id').where('id', '=', id).executeTakeFirst();
    return exists ? 'already-ended' : 'not-found';
  }
}
