import { errorMessage, type Logger } from '@ferry/common';
import type { FileItem } from '../domain/file-view.js';
import { laterMark, type LivePosition } from '../domain/live-position.js';
import type { AlertStore, AlertView } from './alert-store.js';
import type { ChangePosition, Changed, FileStore } from './file-store.js';

/** One event of the live feed. */
export type LiveEvent = { type: 'file'; item: FileItem; position: LivePosition } | { type: 'alert'; item: AlertView; position: LivePosition };

/** What a connected client is given. */
export type LiveListener = (event: LiveEvent) => void;

/** Options for {@link LiveFeed}. */
export interface LiveFeedOptions {
  files: FileStore;
  alerts: AlertStore;
  logger: Logger;
  /** Between polls (default 1 s). */
  pollIntervalMs?: number;
  /**
   * Each poll looks back this far behind the newest change seen (default 5 s), because
   * a row's `updated_at` is its event's time, not its commit's: a transaction that
   * commits late, or an event from a host whose clock lags, lands slightly in the past.
   * Rows seen before are not sent twice.
   */
  overlapMs?: number;
  /** Rows per query (default 500). */
  batch?: number;
}

/** Most pages of rows marked as seen when the feed starts. */
const PRIME_PAGES = 20;

interface Stream<T> {
  name: 'file' | 'alert';
  read(from: ChangePosition, limit: number): Promise<Changed<T>[]>;
  last(): Promise<string | undefined>;
  mark: string;
  /** Rows sent within the overlap: id → change time, so a row is sent once per change. */
  seen: Map<string, string>;
  /** Set after a full batch: continue exactly after this row rather than looking back. */
  after: ChangePosition | undefined;
}

/**
 * One poller for every live client of this gateway: while anyone listens it asks
 * PostgreSQL every second for files and alerts changed since the last look, and hands
 * each change to every listener. Polling the database (rather than NATS) means any
 * number of gateways work without NATS permissions, and every change the monitor
 * projects is seen whichever monitor wrote it.
 */
export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  private readonly pollIntervalMs: number;
  private readonly overlapMs: number;
  private readonly batch: number;
  private readonly logger: Logger;
  private readonly fileStream: Stream<FileItem>;
  private readonly alertStream: Stream<AlertView>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private failing = false;
  private stopped = false;

  constructor(options: LiveFeedOptions) {
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.overlapMs = options.overlapMs ?? 5000;
    this.batch = options.batch ?? 500;
    this.logger = options.logger;
    const files = options.files;
    const alerts = options.alerts;
    this.fileStream = { name: 'file', read: (from, limit) => files.changedSince(from, limit), last: () => files.lastChange(), mark: '', seen: new Map(), after: undefined };
    this.alertStream = { name: 'alert', read: (from, limit) => alerts.alertsChangedSince(from, limit), last: () => alerts.lastAlertChange(), mark: '', seen: new Map(), after: undefined };
  }

  /** How many clients listen. */
  get size(): number {
    return this.listeners.size;
  }

  /** The position up to which changes have been handed out. */
  position(): LivePosition {
    return { files: this.fileStream.mark, alerts: this.alertStream.mark };
  }

  /**
   * Adds a listener; the first one starts the poller (resolves once it knows where the
   * feed stands, so the position is meaningful). Returns the function that removes it.
   */
  async subscribe(listener: LiveListener): Promise<() => void> {
    if (this.stopped) throw new Error('the live feed has stopped');
    this.listeners.add(listener);
    const unsubscribe = () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.idle();
    };
    if (!this.timer && !this.running) {
      this.starting ??= this.begin().finally(() => {
        this.starting = undefined;
      });
    }
    try {
      if (this.starting) await this.starting;
    } catch (err) {
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  /**
   * Changes after `from`, for a client that reconnects: at most `limit` of each kind;
   * `complete` is false when there were more (the client should reload instead).
   */
  async since(from: LivePosition, limit: number): Promise<{ events: LiveEvent[]; complete: boolean }> {
    const back = (mark: string) => ({ at: new Date(Date.parse(mark) - this.overlapMs).toISOString() });
    const [files, alerts] = await Promise.all([this.fileStream.read(back(from.files), limit + 1), this.alertStream.read(back(from.alerts), limit + 1)]);
    const complete = files.length <= limit && alerts.length <= limit;
    const position = this.position();
    const events: LiveEvent[] = [
      ...files.slice(0, limit).map((c): LiveEvent => ({ type: 'file', item: c.item, position: { ...position, files: laterMark(c.mark, position.files) } })),
      ...alerts.slice(0, limit).map((c): LiveEvent => ({ type: 'alert', item: c.item, position: { ...position, alerts: laterMark(c.mark, position.alerts) } })),
    ];
    return { events, complete };
  }

  /** Stops polling and drops every listener; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.listeners.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.starting?.catch(() => undefined);
    await this.running;
  }

  private async begin(): Promise<void> {
    const now = new Date().toISOString();
    // Start at the newest change in the table: clocks of the hosts that wrote the
    // events may be ahead of this one.
    const [files, alerts] = await Promise.all([this.fileStream.last(), this.alertStream.last()]);
    await Promise.all([this.prime(this.fileStream, files ?? now), this.prime(this.alertStream, alerts ?? now)]);
    this.schedule();
  }

  /**
   * Starts a stream at `mark`, with the rows already in its look-back window marked as
   * seen: they changed before anyone listened, so they are not news.
   */
  private async prime<T>(stream: Stream<T>, mark: string): Promise<void> {
    stream.mark = mark;
    stream.seen.clear();
    stream.after = undefined;
    let from: ChangePosition = { at: new Date(Date.parse(mark) - this.overlapMs).toISOString() };
    for (let page = 0; page < PRIME_PAGES; page++) {
      const rows = await stream.read(from, this.batch);
      // A row that changed after `mark` did so while priming: news, left to the first poll.
      for (const row of rows) if (laterMark(row.mark, mark) === mark) stream.seen.set(row.id, row.mark);
      const last = rows.at(-1);
      if (!last || rows.length < this.batch) return;
      from = { at: last.mark, id: last.id };
    }
  }

  private idle(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.poll().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  /** One look at both tables. */
  private async poll(): Promise<void> {
    try {
      await this.pollStream(this.fileStream);
      await this.pollStream(this.alertStream);
      if (this.failing) this.logger.info('live feed polling again');
      this.failing = false;
    } catch (err) {
      // Logged once per outage, not every second.
      if (!this.failing) this.logger.warn({ err: errorMessage(err) }, 'live feed could not poll the database; retrying');
      this.failing = true;
    }
  }

  private async pollStream<T extends FileItem | AlertView>(stream: Stream<T>): Promise<void> {
    const from = stream.after ?? { at: new Date(Date.parse(stream.mark) - this.overlapMs).toISOString() };
    const rows = await stream.read(from, this.batch);
    const last = rows.at(-1);
    // A full batch may be followed by more: continue exactly after it, without looking back.
    stream.after = rows.length >= this.batch && last ? { at: last.mark, id: last.id } : undefined;
    for (const row of rows) {
      if (stream.seen.get(row.id) === row.mark) continue;
      stream.seen.set(row.id, row.mark);
      stream.mark = laterMark(row.mark, stream.mark);
      const position = this.position();
      const event = (stream.name === 'file' ? { type: 'file', item: row.item, position } : { type: 'alert', item: row.item, position }) as LiveEvent;
      for (const listener of this.listeners) listener(event);
    }
    // Forget what is older than the look-back window: it cannot come back.
    const horizon = Date.parse(stream.mark) - this.overlapMs;
    for (const [id, mark] of stream.seen) if (Date.parse(mark) < horizon) stream.seen.delete(id);
  }
}
