import { errorMessage, type Database, type Logger } from '@ferry/common';
import type { Kysely } from 'kysely';
import { fingerprint, groupKey, groupLabels } from '../domain/labels.js';
import type { Notification } from '../domain/lifecycle.js';
import { formatDuration } from '../domain/format.js';
import { messageFor, type Receiver } from '../notifiers/index.js';
import { storeNotification } from './alert-store.js';
import { retryDelay, type PostJson } from './outbox.js';
import { monitorMetrics } from '../metrics.js';

/** Options for {@link OutageAlarm}. */
export interface OutageAlarmOptions {
  db: Kysely<Database>;
  logger: Logger;
  receivers: readonly Receiver[];
  publicUrl: string;
  post: PostJson;
  groupBy: readonly string[];
  /** PostgreSQL must be unreachable this long before the alarm goes out. */
  forMs: number;
  timeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  maxAgeMs: number;
  /** Called once the outage is over and recorded: leadership may be contested again. */
  onCleared: () => void;
}

interface Pending {
  receiver: Receiver;
  body: object;
  attempts: number;
  nextAt: number;
  createdAt: number;
}

/**
 * The one alert that cannot go through PostgreSQL: PostgreSQL itself being down. Only
 * the instance that was leader when its database session died runs it, so one message
 * goes out. It keeps its state and retries in memory, sends the resolved message when
 * the database answers again, then writes the episode into `alerts` and
 * `notifications` so the history is complete.
 */
export class OutageAlarm {
  private failingSince: number | null = null;
  private fired: { startsAt: number; lastError: string } | null = null;
  private readonly queue: Pending[] = [];
  private readonly unsaved: { notification: Notification; at: number }[] = [];

  constructor(private readonly options: OutageAlarmOptions) {}

  /** True while it has something to watch, send or record. */
  get active(): boolean {
    return this.failingSince !== null || this.fired !== null || this.queue.length > 0 || this.unsaved.length > 0;
  }

  /** Takes one PostgreSQL probe result. */
  async observe(ok: boolean, error: string | undefined, now: number): Promise<void> {
    if (!ok) {
      this.failingSince ??= now;
      if (!this.fired && now - this.failingSince >= this.options.forMs) {
        this.fired = { startsAt: this.failingSince, lastError: error ?? 'unreachable' };
        this.options.logger.error({ since: new Date(this.failingSince).toISOString() }, 'PostgreSQL unreachable: alerting directly');
        this.enqueue(this.notification('firing', now), now);
      }
    } else if (this.failingSince !== null || this.fired) {
      if (this.fired) this.enqueue(this.notification('resolved', now), now);
      this.fired = null;
      this.failingSince = null;
    }
    await this.deliver(now);
    if (ok) await this.record();
    if (ok && !this.active) this.options.onCleared();
  }

  /** Sends what is due; failures wait with exponential backoff, in memory. */
  async deliver(now: number): Promise<void> {
    for (const p of [...this.queue]) {
      if (p.nextAt > now) continue;
      const result = await this.options.post(p.receiver.url, p.body, this.options.timeoutMs);
      p.attempts++;
      if (result.ok || now - p.createdAt > this.options.maxAgeMs) {
        if (!result.ok) this.options.logger.error({ receiver: p.receiver.name, err: result.error }, 'PostgreSQL outage message not delivered; giving up');
        this.queue.splice(this.queue.indexOf(p), 1);
        monitorMetrics.notifications.inc({ channel: p.receiver.kind, outcome: result.ok ? 'sent' : 'failed' });
      } else {
        p.nextAt = now + retryDelay(p.attempts, this.options.retryInitialMs, this.options.retryMaxMs);
        monitorMetrics.notifications.inc({ channel: p.receiver.kind, outcome: 'retried' });
      }
    }
  }

  private notification(status: 'firing' | 'resolved', now: number): Notification {
    const labels = { alertname: 'dependency_unreachable', severity: 'critical', dependency: 'postgres' };
    const group = groupLabels(labels, this.options.groupBy);
    const startsAt = this.fired?.startsAt ?? now;
    const n: Notification = {
      groupKey: groupKey(group),
      groupLabels: group,
      status,
      reason: status === 'firing' ? 'first' : 'resolved',
      alerts: [
        {
          fingerprint: fingerprint(labels),
          status,
          labels,
          annotations: {
            summary: status === 'firing' ? `PostgreSQL has been unreachable for ${formatDuration(now - startsAt)}` : 'PostgreSQL is reachable again',
            description: `${this.fired?.lastError ?? ''} While PostgreSQL is down the monitor cannot record state or evaluate other alerts.`.trim(),
          },
          startsAt,
          endsAt: status === 'resolved' ? now : null,
        },
      ],
    };
    this.unsaved.push({ notification: n, at: now });
    return n;
  }

  private enqueue(n: Notification, now: number): void {
    for (const receiver of this.options.receivers) {
      this.queue.push({ receiver, body: messageFor(receiver.kind, n, { receiver: receiver.name, publicUrl: this.options.publicUrl }), attempts: 0, nextAt: now, createdAt: now });
    }
  }

  /** Writes the episode once the database is back; kept for the next try if that fails. */
  private async record(): Promise<void> {
    if (this.unsaved.length === 0 || this.fired) return;
    const episode = this.unsaved.splice(0);
    try {
      await this.options.db.transaction().execute(async (tx) => {
        const firing = episode.find((e) => e.notification.status === 'firing');
        const resolved = episode.find((e) => e.notification.status === 'resolved');
        const alert = (firing ?? resolved)?.notification.alerts[0];
        if (alert && firing) {
          await tx
            .insertInto('alerts')
            .values({
              fingerprint: alert.fingerprint,
              rule: 'dependency_unreachable',
              labels: JSON.stringify(alert.labels),
              annotations: JSON.stringify(alert.annotations),
              status: 'resolved',
              group_key: firing.notification.groupKey,
              starts_at: new Date(alert.startsAt),
              ends_at: new Date(resolved?.at ?? firing.at),
              updated_at: new Date(resolved?.at ?? firing.at),
              last_notified_at: new Date(firing.at),
              resolved_notified_at: resolved ? new Date(resolved.at) : null,
            })
            .execute();
        }
        for (const e of episode) await storeNotification(tx, e.notification, e.at, [], { publicUrl: this.options.publicUrl });
      });
    } catch (err) {
      this.unsaved.unshift(...episode);
      this.options.logger.warn({ err: errorMessage(err) }, 'could not record the PostgreSQL outage yet');
    }
  }
}
