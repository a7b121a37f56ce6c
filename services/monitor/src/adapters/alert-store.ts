import type { Database } from '@ferry/common';
import type { Kysely, Transaction } from 'kysely';
import type { AlertRecord, GroupRecord, LifecycleOutput, Notification, SilenceRecord } from '../domain/lifecycle.js';
import { messageFor, type MessageContext, type Receiver } from '../notifiers/index.js';

type Db = Kysely<Database> | Transaction<Database>;

const ms = (d: Date | null): number | null => (d === null ? null : d.getTime());
const date = (n: number | null): Date | null => (n === null ? null : new Date(n));

/** The lifecycle's state as stored: open alerts, groups and silences in force or to come. */
export interface StoredState {
  alerts: AlertRecord[];
  groups: GroupRecord[];
  silences: SilenceRecord[];
}

/** Reads the state the lifecycle needs. */
export async function loadState(db: Db, now: number): Promise<StoredState> {
  const alertRows = await db
    .selectFrom('alerts')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('status', '=', 'firing'),
        eb.and([eb('status', '=', 'resolved'), eb('last_notified_at', 'is not', null), eb('resolved_notified_at', 'is', null)]),
      ]),
    )
    .orderBy('id')
    .execute();
  const groupRows = await db.selectFrom('alert_groups').selectAll().execute();
  const silenceRows = await db.selectFrom('silences').selectAll().where('ends_at', '>', new Date(now)).execute();
  return {
    alerts: alertRows.map((r) => ({
      id: r.id,
      fingerprint: r.fingerprint,
      rule: r.rule,
      labels: r.labels,
      annotations: r.annotations,
      status: r.status,
      groupKey: r.group_key,
      startsAt: r.starts_at.getTime(),
      endsAt: ms(r.ends_at),
      mutedBy: r.muted_by,
      lastNotifiedAt: ms(r.last_notified_at),
      resolvedNotifiedAt: ms(r.resolved_notified_at),
    })),
    groups: groupRows.map((g) => ({
      groupKey: g.group_key,
      labels: g.labels,
      createdAt: g.created_at.getTime(),
      lastNotifiedAt: ms(g.last_notified_at),
      notifiedFingerprints: g.notified_fingerprints,
    })),
    silences: silenceRows.map((s) => ({ id: s.id, matchers: s.matchers, startsAt: s.starts_at.getTime(), endsAt: s.ends_at.getTime() })),
  };
}

/**
 * Writes one evaluation's outcome: alerts, groups, and each notification with one
 * outbox row per receiver. Called inside the evaluation's transaction, so a crash
 * leaves either all of it or none.
 */
export async function saveOutcome(tx: Db, out: LifecycleOutput, now: number, receivers: readonly Receiver[], ctx: Omit<MessageContext, 'receiver'>): Promise<number[]> {
  const at = new Date(now);
  for (const a of out.writes) {
    const row = {
      annotations: JSON.stringify(a.annotations),
      status: a.status,
      ends_at: date(a.endsAt),
      updated_at: at,
      muted_by: a.mutedBy,
      last_notified_at: date(a.lastNotifiedAt),
      resolved_notified_at: date(a.resolvedNotifiedAt),
    };
    if (a.id === null) {
      const inserted = await tx
        .insertInto('alerts')
        .values({ ...row, fingerprint: a.fingerprint, rule: a.rule, labels: JSON.stringify(a.labels), group_key: a.groupKey, starts_at: new Date(a.startsAt) })
        .returning('id')
        .executeTakeFirstOrThrow();
      a.id = inserted.id;
    } else {
      await tx.updateTable('alerts').set(row).where('id', '=', a.id).execute();
    }
  }
  for (const g of out.groups) {
    const row = { labels: JSON.stringify(g.labels), created_at: new Date(g.createdAt), last_notified_at: date(g.lastNotifiedAt), notified_fingerprints: JSON.stringify(g.notifiedFingerprints) };
    await tx
      .insertInto('alert_groups')
      .values({ group_key: g.groupKey, ...row })
      .onConflict((oc) => oc.column('group_key').doUpdateSet(row))
      .execute();
  }
  if (out.endedGroups.length > 0) await tx.deleteFrom('alert_groups').where('group_key', 'in', out.endedGroups).execute();
  const ids: number[] = [];
  for (const n of out.notifications) ids.push(await storeNotification(tx, n, now, receivers, ctx));
  return ids;
}

/** Stores a notification and queues it for every receiver. */
export async function storeNotification(tx: Db, n: Notification, now: number, receivers: readonly Receiver[], ctx: Omit<MessageContext, 'receiver'>, delivered = false): Promise<number> {
  const at = new Date(now);
  const { id } = await tx
    .insertInto('notifications')
    .values({
      group_key: n.groupKey,
      status: n.status,
      reason: n.reason,
      alerts: JSON.stringify(n.alerts.map((a) => ({ fingerprint: a.fingerprint, status: a.status, labels: a.labels }))),
      created_at: at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (receivers.length > 0) {
    await tx
      .insertInto('notification_deliveries')
      .values(
        receivers.map((r) => ({
          notification_id: id,
          receiver: r.name,
          payload: JSON.stringify(messageFor(r.kind, n, { ...ctx, receiver: r.name })),
          status: delivered ? ('sent' as const) : ('pending' as const),
          attempts: delivered ? 1 : 0,
          next_attempt_at: at,
          created_at: at,
          sent_at: delivered ? at : null,
        })),
      )
      .execute();
  }
  return id;
}
