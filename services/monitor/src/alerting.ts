import { errorMessage, FerryError, withTimeout, type Bus, type Database, type Logger, type ZoneConfig } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { loadState, saveOutcome } from './adapters/alert-store.js';
import { EVALUATION_LOCK, holdsLeaderLock, LeaderElection, MONITOR_LOCK_SPACE } from './adapters/leader.js';
import { OutageAlarm } from './adapters/outage-alarm.js';
import { Outbox, postJson, type DeliveryPass, type PostJson } from './adapters/outbox.js';
import { Probes } from './adapters/probes.js';
import { StateReader } from './adapters/state-reader.js';
import { evaluateLifecycle, type LifecycleOutput } from './domain/lifecycle.js';
import { DependencyTracker, runRules, type DependencyState } from './domain/rules/index.js';
import { defaultAlertSettings, type AlertSettings } from './domain/settings.js';
import type { Receiver } from './notifiers/index.js';

/** Alerting options of {@link createMonitor}; everything has a default, and no receiver is required. */
export interface AlertingOptions {
  settings?: AlertSettings;
  /** Where notifications go; none by default (alerts are still stored and published). */
  receivers?: readonly Receiver[];
  /** Ferry's web address, for links in messages (default `http://localhost:8080`). */
  publicUrl?: string;
  /** Probed with PING when set. */
  redisUrl?: string;
  /** Zones the monitor has settings for, probed with HEAD bucket. */
  zones?: readonly ZoneConfig[];
  /** The clock; replaced in tests. */
  now?: () => number;
  /** How often queued notifications are sent (default 1 s). */
  deliveryIntervalMs?: number;
  leaderCheckIntervalMs?: number;
  post?: PostJson;
  /** Longest wait at start for the projection to catch up before rules run (default 2 min). */
  startupMaxWaitMs?: number;
  /** No timers and no leader election: the caller runs `evaluate()` and `deliver()` (tests, tools). */
  manual?: boolean;
}

/** An evaluation that found this instance no longer holds the leader lock. */
export class NotLeaderError extends FerryError {}

/** What one evaluation did. */
export interface EvaluationReport {
  at: number;
  evaluatedRules: string[];
  firing: number;
  started: number;
  resolved: number;
  notifications: LifecycleOutput['notifications'];
  dependencies: DependencyState[];
}

interface EngineDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  options: AlertingOptions;
  /** True once the projection has caught up with what was in the streams at start. */
  caughtUp?: () => Promise<boolean>;
}

/**
 * Rules, lifecycle and delivery. Every instance runs one; only the leader (see
 * {@link LeaderElection}) evaluates and delivers. Each evaluation reads the state,
 * runs the rules and writes the lifecycle's outcome in one transaction, so the state
 * in PostgreSQL is the truth: a restart or a new leader carries on where the last one
 * stopped, without repeating a message before its time.
 */
export class AlertEngine {
  readonly settings: AlertSettings;
  readonly leader: LeaderElection;
  private readonly now: () => number;
  private readonly receivers: readonly Receiver[];
  private readonly publicUrl: string;
  private readonly reader: StateReader;
  private readonly probes: Probes;
  private readonly tracker = new DependencyTracker();
  private readonly outbox: Outbox;
  private readonly alarm: OutageAlarm;
  private readonly startedAt: number;
  private gateOpen = false;
  private seeded = false;
  private lastPrune = 0;
  private evaluationTimer: NodeJS.Timeout | undefined;
  private deliveryTimer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking = false;
  private evaluating: Promise<unknown> = Promise.resolve();
  private delivering: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: EngineDeps) {
    const o = deps.options;
    this.settings = o.settings ?? defaultAlertSettings();
    this.now = o.now ?? Date.now;
    this.receivers = o.receivers ?? [];
    this.publicUrl = (o.publicUrl ?? 'http://localhost:8080').replace(/\/+$/, '');
    this.startedAt = Date.now();
    const post = o.post ?? postJson;
    const n = this.settings.notify;
    this.reader = new StateReader(deps.db, deps.logger);
    this.probes = new Probes({ db: deps.db, bus: deps.bus, redisUrl: o.redisUrl, zones: o.zones, zonesFromTable: this.settings.dependencies.zonesFromTable, timeoutMs: this.settings.dependencies.timeout });
    this.leader = new LeaderElection({
      db: deps.db,
      logger: deps.logger,
      checkIntervalMs: o.leaderCheckIntervalMs,
      onChange: (leader) => {
        if (!leader) return;
        this.seeded = false; // another leader may have changed things meanwhile
        this.loop();
      },
    });
    this.outbox = new Outbox({ db: deps.db, logger: deps.logger, receivers: this.receivers, now: this.now, retryInitialMs: n.retryInitial, retryMaxMs: n.retryMax, maxAgeMs: n.maxAge, timeoutMs: n.timeout, post });
    this.alarm = new OutageAlarm({
      db: deps.db,
      logger: deps.logger,
      receivers: this.receivers,
      publicUrl: this.publicUrl,
      post,
      groupBy: this.settings.grouping.by,
      forMs: this.settings.dependencies.for,
      timeoutMs: n.timeout,
      retryInitialMs: n.retryInitial,
      retryMaxMs: n.retryMax,
      maxAgeMs: n.maxAge,
      onCleared: () => {
        this.leader.lostToOutageAt = null;
      },
    });
  }

  start(): void {
    if (this.running || this.deps.options.manual) return;
    this.running = true;
    this.leader.start();
    this.loop();
    const deliver = () => {
      if (!this.running) return;
      void this.deliverSerially().finally(() => {
        if (this.running) this.deliveryTimer = setTimeout(deliver, this.deps.options.deliveryIntervalMs ?? 1000);
      });
    };
    deliver();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.evaluationTimer);
    clearTimeout(this.deliveryTimer);
    await Promise.allSettled([this.evaluating, this.delivering]);
    await this.leader.stop();
    this.probes.close();
  }

  /** Runs a tick now, then one every evaluation interval; a tick already running is not doubled. */
  private loop(): void {
    if (!this.running || this.ticking) return;
    clearTimeout(this.evaluationTimer);
    this.ticking = true;
    this.evaluating = this.tick()
      .catch((err: unknown) => this.deps.logger.error({ err: errorMessage(err) }, 'alert evaluation failed'))
      .finally(() => {
        this.ticking = false;
        if (this.running) this.evaluationTimer = setTimeout(() => this.loop(), this.settings.evaluationInterval);
      });
  }

  private async tick(): Promise<void> {
    if (this.leader.lostToOutageAt !== null || this.alarm.active) {
      const result = await withTimeout(sql`select 1`.execute(this.deps.db), this.settings.dependencies.timeout, 'postgres').then(
        () => ({ ok: true, error: undefined }),
        (err: unknown) => ({ ok: false, error: errorMessage(err) }),
      );
      await this.alarm.observe(result.ok, result.error, this.now());
    }
    if (!this.leader.isLeader() || !(await this.ready())) return;
    const report = await this.evaluate();
    if (report.notifications.length > 0) void this.deliverSerially();
  }

  /** Rules wait until the projection has caught up, so a restart does not alert on stale rows. */
  private async ready(): Promise<boolean> {
    if (this.gateOpen) return true;
    const waited = Date.now() - this.startedAt;
    const caughtUp = this.deps.caughtUp ? await this.deps.caughtUp().catch(() => false) : true;
    if (caughtUp || waited >= (this.deps.options.startupMaxWaitMs ?? 120_000)) {
      if (!caughtUp) this.deps.logger.warn({ waitedMs: waited }, 'projection still catching up; evaluating alerts anyway');
      this.gateOpen = true;
    }
    return this.gateOpen;
  }

  /** Delivery passes never overlap: the timer's and the one right after an evaluation queue up. */
  private deliverSerially(): Promise<unknown> {
    this.delivering = this.delivering.then(() => this.deliverIfLeader());
    return this.delivering;
  }

  private async deliverIfLeader(): Promise<void> {
    try {
      if (this.alarm.active) await this.alarm.deliver(this.now());
      if (this.leader.isLeader() && this.receivers.length > 0) await this.outbox.deliverDue();
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err) }, 'notification delivery pass failed');
    }
  }

  /**
   * One evaluation now, as the leader does it: probes, rules, lifecycle, then the
   * `alert.*` events. Public for tests and tools; the timer calls it only on the leader.
   */
  async evaluate(): Promise<EvaluationReport> {
    const now = this.now();
    const { db, logger } = this.deps;
    if (!this.seeded) {
      const firing = await db.selectFrom('alerts').select(['labels', 'annotations', 'starts_at']).where('rule', '=', 'dependency_unreachable').where('status', '=', 'firing').execute();
      this.tracker.seed(
        firing.map((a) => ({
          dependency: a.labels.dependency ?? '',
          target: a.labels.zone ?? '',
          // It fired once it had failed for `for`: it has been failing at least since then.
          failingSince: a.starts_at.getTime() - this.settings.dependencies.for,
          lastError: a.annotations.description ?? null,
        })),
      );
      this.seeded = true;
    }
    const dependencies = this.settings.dependencies.enabled ? this.tracker.update(await this.probes.run(), now) : [];
    const snapshot = await this.reader.read(now, this.settings);
    const rules = runRules({ now, settings: this.settings, snapshot, dependencies: this.settings.dependencies.enabled ? dependencies : undefined });
    for (const e of rules.errors) logger.error({ rule: e.rule, err: errorMessage(e.error) }, 'alert rule failed');
    const out = await db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(${MONITOR_LOCK_SPACE}, ${EVALUATION_LOCK})`.execute(tx);
      const pid = this.leader.pid;
      if (pid !== null && !(await holdsLeaderLock(tx, pid))) throw new NotLeaderError('the leader lock was lost; not writing this evaluation');
      const state = await loadState(tx, now);
      const result = evaluateLifecycle({
        now,
        candidates: rules.candidates,
        evaluatedRules: rules.evaluated,
        alerts: state.alerts,
        groups: state.groups,
        silences: state.silences,
        inhibitRules: this.settings.inhibit,
        settings: {
          groupBy: this.settings.grouping.by,
          groupWaitMs: this.settings.grouping.wait,
          groupIntervalMs: this.settings.grouping.interval,
          repeatIntervalMs: this.settings.grouping.repeat,
        },
      });
      await saveOutcome(tx, result, now, this.receivers, { publicUrl: this.publicUrl });
      return { result, firing: state.alerts.filter((a) => a.status === 'firing').length + result.started.length - result.resolved.length };
    });
    for (const a of out.result.started) logger.warn({ alert: a.rule, labels: a.labels, summary: a.annotations.summary }, 'alert firing');
    for (const a of out.result.resolved) logger.info({ alert: a.rule, labels: a.labels }, 'alert resolved');
    for (const n of out.result.notifications) logger.info({ group: n.groupKey, status: n.status, reason: n.reason, alerts: n.alerts.length }, 'notification queued');
    await this.publishEvents();
    await this.prune(now);
    return {
      at: now,
      evaluatedRules: [...rules.evaluated],
      firing: out.firing,
      started: out.result.started.length,
      resolved: out.result.resolved.length,
      notifications: out.result.notifications,
      dependencies,
    };
  }

  /** Sends queued notifications that are due. Public for tests; the timer calls it only on the leader. */
  deliver(): Promise<DeliveryPass> {
    return this.outbox.deliverDue();
  }

  /** Publishes `alert.firing` / `alert.resolved` for alerts not yet announced; NATS being down only delays them. */
  private async publishEvents(): Promise<void> {
    const { db, bus, logger } = this.deps;
    const rows = await db
      .selectFrom('alerts')
      .selectAll()
      .where((eb) => eb.or([eb('firing_published', '=', false), eb.and([eb('status', '=', 'resolved'), eb('resolved_published', '=', false)])]))
      .orderBy('id')
      .limit(500)
      .execute();
    try {
      for (const r of rows) {
        const base = { fingerprint: r.fingerprint, rule: r.rule, labels: r.labels, summary: r.annotations.summary ?? r.rule, startsAt: r.starts_at.toISOString() };
        if (!r.firing_published) {
          await bus.publish('alert.firing', base);
          await db.updateTable('alerts').set({ firing_published: true }).where('id', '=', r.id).execute();
        }
        if (r.status === 'resolved' && !r.resolved_published) {
          await bus.publish('alert.resolved', { ...base, endsAt: (r.ends_at ?? new Date()).toISOString() });
          await db.updateTable('alerts').set({ resolved_published: true }).where('id', '=', r.id).execute();
        }
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'alert events not published yet; will retry');
    }
  }

  /** Drops disk samples older than the forecast needs, and history past its retention, every ten minutes or so. */
  private async prune(now: number): Promise<void> {
    if (now - this.lastPrune < 600_000) return;
    this.lastPrune = now;
    const { db } = this.deps;
    const keep = Math.max(2 * this.settings.disk.forecast.window, 3_600_000);
    await db.deleteFrom('disk_samples').where('bucket_at', '<', new Date(now - keep)).execute();
    const before = new Date(now - this.settings.historyRetention);
    await db.deleteFrom('notifications').where('created_at', '<', before).execute();
    await db
      .deleteFrom('alerts')
      .where('status', '=', 'resolved')
      .where('ends_at', '<', before)
      .where('firing_published', '=', true)
      .where('resolved_published', '=', true)
      .execute();
  }
}
