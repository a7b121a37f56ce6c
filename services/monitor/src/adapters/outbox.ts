import { errorMessage, type Database, type Logger } from '@ferry/common';
import type { Kysely } from 'kysely';
import { monitorMetrics } from '../metrics.js';
import type { Receiver } from '../notifiers/index.js';

/** What a receiver answered; `retryAfterMs` from a 429's `Retry-After`. */
export interface PostResult {
  ok: boolean;
  status: number;
  retryAfterMs?: number;
  error?: string;
}

/** Sends one JSON body; never throws (a network error is a failed result with status 0). */
export type PostJson = (url: string, body: unknown, timeoutMs: number) => Promise<PostResult>;

/** POSTs JSON with `fetch`, within a time limit. */
export const postJson: PostJson = async (url, body, timeoutMs) => {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ferry-monitor' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text().catch(() => '');
    const retryAfter = Number(res.headers.get('retry-after'));
    return {
      ok: res.ok,
      status: res.status,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      ...(res.ok ? {} : { error: `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}` }),
    };
  } catch (err) {
    const cause = err instanceof Error && err.cause ? `: ${errorMessage(err.cause)}` : '';
    return { ok: false, status: 0, error: `${errorMessage(err)}${cause}` };
  }
};

/** Delay before retry number `attempt` (1 = the first retry): doubling from `initialMs`, capped. */
export function retryDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}

/** A receiver's answer that retrying will not change (bad URL, refused payload). */
function isPermanent(r: PostResult): boolean {
  return r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429;
}

/** Options for {@link Outbox}. */
export interface OutboxOptions {
  db: Kysely<Database>;
  logger: Logger;
  receivers: readonly Receiver[];
  now: () => number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** A delivery still failing this long after it was queued is marked failed. */
  maxAgeMs: number;
  timeoutMs: number;
  post?: PostJson;
  /** Most deliveries per receiver in one pass (default 20). */
  batch?: number;
}

/** What one pass did. */
export interface DeliveryPass {
  sent: number;
  retried: number;
  failed: number;
}

/**
 * Delivers queued notifications from `notification_deliveries`. Each receiver's
 * messages go out in order: while its oldest is waiting for a retry, the newer ones
 * wait too, so a resolved message never overtakes the firing one. Retries back off
 * exponentially; a message not delivered within `maxAgeMs` is marked failed and logged.
 * Nothing is lost when the process stops: the rows stay pending for the next leader.
 */
export class Outbox {
  private readonly post: PostJson;
  private pass: Promise<DeliveryPass> | undefined;

  constructor(private readonly options: OutboxOptions) {
    this.post = options.post ?? postJson;
  }

  /** One pass over every receiver with pending deliveries; a call during a pass gets that pass. */
  deliverDue(): Promise<DeliveryPass> {
    this.pass ??= this.deliverAll().finally(() => {
      this.pass = undefined;
    });
    return this.pass;
  }

  private async deliverAll(): Promise<DeliveryPass> {
    const { db } = this.options;
    const pass: DeliveryPass = { sent: 0, retried: 0, failed: 0 };
    const receivers = await db.selectFrom('notification_deliveries').select('receiver').distinct().where('status', '=', 'pending').execute();
    for (const { receiver } of receivers) await this.deliverTo(receiver, pass);
    return pass;
  }

  private async deliverTo(name: string, pass: DeliveryPass): Promise<void> {
    const { db, logger } = this.options;
    const receiver = this.options.receivers.find((r) => r.name === name);
    for (let i = 0; i < (this.options.batch ?? 20); i++) {
      const now = this.options.now();
      const row = await db
        .selectFrom('notification_deliveries')
        .select(['id', 'payload', 'attempts', 'next_attempt_at', 'created_at', 'last_error'])
        .where('receiver', '=', name)
        .where('status', '=', 'pending')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (!row) return;
      if (!receiver) {
        await this.fail(row.id, row.attempts, `receiver ${name} is not configured`, now);
        pass.failed++;
        monitorMetrics.notifications.inc({ channel: 'unconfigured', outcome: 'failed' });
        continue;
      }
      if (now - row.created_at.getTime() > this.options.maxAgeMs) {
        await this.fail(row.id, row.attempts, `not delivered within ${Math.round(this.options.maxAgeMs / 60_000)} min: ${row.last_error ?? 'no answer'}`, now);
        pass.failed++;
        monitorMetrics.notifications.inc({ channel: receiver.kind, outcome: 'failed' });
        continue;
      }
      if (row.next_attempt_at.getTime() > now) return; // the oldest waits for its retry; the rest wait behind it
      // Claim it for the length of one try, so an instance taking over leadership meanwhile does not send it too.
      const claimed = await db
        .updateTable('notification_deliveries')
        .set({ next_attempt_at: new Date(now + this.options.timeoutMs + 5000) })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '=', row.next_attempt_at)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return;
      const result = await this.post(receiver.url, row.payload, this.options.timeoutMs);
      const attempts = row.attempts + 1;
      const at = new Date(this.options.now());
      if (result.ok) {
        await db.updateTable('notification_deliveries').set({ status: 'sent', attempts, sent_at: at, last_error: null }).where('id', '=', row.id).execute();
        pass.sent++;
        monitorMetrics.notifications.inc({ channel: receiver.kind, outcome: 'sent' });
        continue;
      }
      const error = result.error ?? `HTTP ${result.status}`;
      if (isPermanent(result)) {
        await this.fail(row.id, attempts, error, at.getTime());
        pass.failed++;
        monitorMetrics.notifications.inc({ channel: receiver.kind, outcome: 'failed' });
        continue;
      }
      const delay = Math.max(result.retryAfterMs ?? 0, retryDelay(attempts, this.options.retryInitialMs, this.options.retryMaxMs));
      await db
        .updateTable('notification_deliveries')
        .set({ attempts, last_error: error, next_attempt_at: new Date(at.getTime() + delay) })
        .where('id', '=', row.id)
        .execute();
      logger.warn({ receiver: name, delivery: row.id, attempts, retryInMs: delay, err: error }, 'notification not delivered, will retry');
      pass.retried++;
      monitorMetrics.notifications.inc({ channel: receiver.kind, outcome: 'retried' });
      return;
    }
  }

  private async fail(id: number, attempts: number, error: string, now: number): Promise<void> {
    await this.options.db.updateTable('notification_deliveries').set({ status: 'failed', attempts, last_error: error, next_attempt_at: new Date(now) }).where('id', '=', id).execute();
    this.options.logger.error({ delivery: id, attempts, err: error }, 'notification delivery failed for good');
  }
}
