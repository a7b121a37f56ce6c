import type { Bus } from '@ferry/common/bus';
import { errorMessage } from '@ferry/common/errors';
import type { Logger } from '@ferry/common/logger';
import { setMaxListeners } from 'node:events';
import { FolderWatch, type Source } from './adapters/folder-watch.js';
import { Inventory } from './adapters/inventory.js';
import { probeUnit, type Probe } from './adapters/probe.js';
import { chooseWatchMode, type WatchMode } from './adapters/volume.js';
import { Announcer, SMALL_FILE_CONCURRENCY, type Hashed, type HashFn } from './announcer.js';
import type { InstrumentConfig } from './config.js';
import { PathFilter } from './domain/filters.js';
import { Limiter } from './domain/limiter.js';
import { trackInstrument, watcherMetrics } from './metrics.js';
import { Queue } from './domain/queue.js';
import { baseName } from './domain/names.js';
import { judgeFile, judgeFolder, RuleSet, type Unit } from './domain/rules.js';
import { Schedule } from './domain/schedule.js';
import { StabilityTracker } from './domain/stability.js';

/** Options for {@link InstrumentWatcher}. */
export interface InstrumentWatcherOptions {
  config: InstrumentConfig;
  bus: Bus;
  logger: Logger;
  /** This watcher's instance name, carried in each event. */
  watcher: string;
  now?: () => number;
  hash?: HashFn;
  /** Something an operator should see soon happened (a failed or unreadable acquisition). */
  onNotable?: () => void;
}

/** Figures for heartbeats and tests. */
export interface InstrumentStats {
  instrument: string;
  /** Seen, not yet complete (or complete and waiting for a hashing slot). */
  pending: number;
  /** Acquisitions being read for their hash right now. */
  hashing: number;
  /** Files and folder members read for their hash since start. */
  hashedFiles: number;
  /** Announced since start. */
  announced: number;
  /** Complete, but their content had been announced already. */
  duplicates: number;
  /** Acquisitions in the inventory. */
  known: number;
  empty: number;
  unreadable: number;
  failed: number;
  lastDetectionAt: string | null;
}

interface Failure {
  reason: string;
  rule: string;
  at: string;
  /** Still followed for changes (a folder or file waiting for its main data). */
  tracked: boolean;
}

/** What hashing needs of a complete acquisition. */
type Settleable = { kind: 'file'; size: number; mtimeMs: number } | Extract<Probe, { kind: 'folder' }>;

/** Events for one path within this time are looked at together. */
const DEBOUNCE_MS = 100;
/** Looks queued or running at once; the schedule holds the rest. */
const LOOK_WINDOW = 64;
/** Complete acquisitions queued for hashing before looks wait. */
const READY_LIMIT = 64;
/** Retry for a root folder that is missing or unreadable (share not mounted yet). */
const ROOT_RETRY_MS = 10_000;

/**
 * Watches one instrument folder and announces each complete acquisition once. Every path
 * an event, a poll or a walk reports is mapped to its acquisition (a file, or the folder a
 * rule makes one), looked at on a schedule, judged stable when unchanged for the window,
 * then checked by its vendor rule, hashed and announced.
 */
export class InstrumentWatcher {
  readonly config: InstrumentConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly filter: PathFilter;
  private readonly rules: RuleSet;
  private readonly tracker: StabilityTracker;
  private readonly schedule: Schedule;
  readonly inventory: Inventory;
  private readonly announcer: Announcer;
  private readonly abort = new AbortController();
  private readonly lookLimiter = new Limiter(16);
  /** Complete acquisitions waiting to be hashed and announced. */
  private readonly ready = new Queue<{ path: string; unit: Unit; probe: Settleable }>();
  private settling = 0;
  private readonly maxSettling: number;
  private folder: FolderWatch | undefined;
  private watchMode: WatchMode | undefined;
  private readonly looking = new Set<string>();
  private readonly relook = new Set<string>();
  /** Complete and being hashed or announced; `dirty` when touched meanwhile. */
  private readonly busy = new Map<string, { dirty: boolean }>();
  /** Polling: units seen changing, looked at every poll rather than only at their deadline. */
  private readonly active = new Set<string>();
  private readonly empties = new Set<string>();
  private readonly waiting = new Map<string, string>();
  private readonly failed = new Map<string, Failure>();
  private readonly unreadable = new Map<string, { path: string; error: string; since: string; attempts: number; directory: boolean }>();
  private readonly inFlight = new Set<Promise<void>>();
  private ticker: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private started = false;
  private rootError: string | undefined;
  private lastWalkAt = 0;
  private lastWalk: { at: string; ms: number; files: number } | undefined;
  private walking: Promise<void> | undefined;
  private announced = 0;
  private duplicates = 0;
  private lastDetection: { at: string; path: string } | undefined;
  private lastFailure: { path: string; reason: string; at: string } | undefined;
  private untrackMetrics: (() => void) | undefined;

  constructor(private readonly options: InstrumentWatcherOptions) {
    // Every read and every publish retry listens for the stop.
    setMaxListeners(0, this.abort.signal);
    const config = (this.config = options.config);
    this.logger = options.logger.child({ instrument: config.name });
    this.now = options.now ?? Date.now;
    this.filter = new PathFilter({ include: config.include, exclude: config.exclude, ignore: config.ignore });
    this.rules = new RuleSet(config.rules);
    this.tracker = new StabilityTracker(config.stableMs);
    this.schedule = new Schedule(tickMsFor(config.stableMs));
    this.inventory = new Inventory({ file: config.stateFile, instrument: config.name, logger: this.logger });
    // Every hashing slot busy, and a few hashed acquisitions waiting for their publish.
    this.maxSettling = config.hashConcurrency + SMALL_FILE_CONCURRENCY + 8;
    this.announcer = new Announcer({
      instrument: config.name,
      root: config.folder,
      zone: config.zone,
      watcher: options.watcher,
      bus: options.bus,
      inventory: this.inventory,
      logger: this.logger,
      hashConcurrency: config.hashConcurrency,
      hash: options.hash,
      now: this.now,
      signal: this.abort.signal,
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.untrackMetrics = trackInstrument({ instrument: this.config.name, folder: this.config.folder, pending: () => this.stats().pending }, this.logger);
    const loaded = await this.inventory.load();
    const mode = (this.watchMode = await chooseWatchMode(this.config.folder, this.config.poll));
    this.folder = new FolderWatch({
      root: this.config.folder,
      mode: mode.mode,
      pollIntervalMs: this.config.pollIntervalMs,
      skipDirectory: (rel) => this.filter.skipsDirectory(rel),
      onPath: (rel, source) => this.touch(rel, source),
      onError: (rel, err) => this.onWalkError(rel, err),
      logger: this.logger,
    });
    this.ticker = setInterval(() => this.tick(), tickMsFor(this.config.stableMs));
    this.logger.info({ folder: this.config.folder, mode: mode.mode, why: mode.reason, stableMs: this.config.stableMs, known: loaded.entries, inventory: this.inventory.file }, 'watching');
    await this.walk(() => this.folder!.start());
    this.rescanTimer = setInterval(() => void this.walk(() => this.folder!.rescan()), this.config.rescanMs);
  }

  /** Walks the whole folder now (also on the rescan interval). */
  rescan(): Promise<void> {
    return this.walk(() => this.folder?.rescan() ?? Promise.resolve({ files: 0, directories: 0, ms: 0 }));
  }

  private walk(run: () => Promise<{ files: number; directories: number; ms: number }>): Promise<void> {
    this.walking ??= (async () => {
      this.rootError = undefined;
      // Directories that could not be listed are tried again by this walk.
      for (const [key, u] of this.unreadable) if (u.directory) this.unreadable.delete(key);
      this.lastWalkAt = this.now();
      try {
        const report = await run();
        this.lastWalk = { at: new Date(this.lastWalkAt).toISOString(), ms: report.ms, files: report.files };
        this.logger.debug({ ...report }, 'walked the folder');
      } catch (err) {
        this.onWalkError('', err);
      } finally {
        this.walking = undefined;
      }
    })();
    return this.walking;
  }

  private onWalkError(rel: string, err: unknown): void {
    if (rel === '') {
      const message = errorMessage(err);
      if (this.rootError !== message) this.logger.error({ folder: this.config.folder, err: message }, 'cannot read the instrument folder; will retry');
      this.rootError = message;
      return;
    }
    this.markUnreadable(rel, rel, errorMessage(err), true);
  }

  /** A path may have changed: plan a look at the acquisition it belongs to. */
  private touch(rel: string, source: Source): void {
    // The folder watch never walks into an ignored directory: the name is all to check.
    if (this.stopped || rel === '' || this.filter.isIgnoredName(baseName(rel))) return;
    const unit = this.rules.unitOf(rel);
    if (!this.filter.wants(unit.path)) return;
    const busy = this.busy.get(unit.path);
    if (busy) {
      busy.dirty = true;
      return;
    }
    if (source !== 'scan') this.active.add(unit.path);
    this.schedule.at(unit.path, this.now() + (source === 'event' ? DEBOUNCE_MS : 0));
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.rootError !== undefined && !this.walking && this.now() - this.lastWalkAt >= Math.min(ROOT_RETRY_MS, this.config.rescanMs)) void this.rescan();
    this.pumpLooks();
  }

  private pumpLooks(): void {
    // Back-pressure: while many complete acquisitions wait for hashing, leave the rest
    // where they are (the schedule and the tracker hold them compactly). A first scan of
    // 100k files would otherwise hold them all twice, long enough to fill the old heap.
    const room = Math.min(LOOK_WINDOW - this.looking.size, READY_LIMIT - this.ready.length);
    if (this.stopped || room <= 0) return;
    for (const path of this.schedule.takeDue(this.now(), room)) this.requestLook(path);
  }

  private requestLook(path: string): void {
    if (this.looking.has(path)) {
      this.relook.add(path);
      return;
    }
    this.looking.add(path);
    const p = this.lookLimiter
      .run(() => this.look(path))
      .catch((err: unknown) => {
        this.logger.error({ path, err: errorMessage(err) }, 'looking at a path failed; will look again');
        this.schedule.at(path, this.now() + 5000);
      })
      .finally(() => {
        this.looking.delete(path);
        this.inFlight.delete(p);
        if (this.relook.delete(path)) this.schedule.at(path, this.now());
        if (this.looking.size < LOOK_WINDOW / 2) this.pumpLooks();
      });
    this.inFlight.add(p);
  }

  /** Looks at one acquisition and moves it along: pending, waiting, failed or complete. */
  private async look(path: string): Promise<void> {
    if (this.stopped) return;
    const busy = this.busy.get(path);
    if (busy) {
      busy.dirty = true;
      return;
    }
    const unit = this.rules.unitOf(path);
    const seen = this.tracker.seenOf(path);
    if (seen && seen.extra === undefined && seen.size > 0 && !unit.isFolder && this.now() >= this.tracker.dueAt(path)!) {
      // A plain file at its deadline goes straight to hashing: the read ends with an fstat
      // of the same handle, which says whether it changed since it was seen, as a look would.
      this.untrack(path);
      this.settle(path, unit, { kind: 'file', size: seen.size, mtimeMs: seen.mtimeMs });
      return;
    }
    const companion = unit.isFolder ? undefined : this.rules.companionRule(baseName(path));
    const probe = await probeUnit(unit, { root: this.config.folder, isIgnoredName: (n) => this.filter.isIgnoredName(n), companions: companion?.companions ?? [] });
    if (this.stopped) return;
    const now = this.now();
    if (probe.kind === 'gone' || probe.kind === 'directory') {
      this.forget(path);
      return;
    }
    if (probe.kind === 'unreadable') {
      this.markUnreadable(path, probe.path, probe.error);
      this.schedule.at(path, now + this.config.retryUnreadableMs);
      return;
    }
    const failedName = this.rules.failedName(baseName(path));
    if (failedName) {
      this.untrack(path);
      this.markFailed(path, failedName.reason, failedName.name, false);
      return;
    }
    const settled = probe.kind === 'file' ? this.inventory.state.matchesFile(path, probe.size, probe.mtimeMs) : this.inventory.state.matchesFolder(path, probe.members);
    if (settled) {
      this.forget(path);
      return;
    }
    const previous = this.tracker.seenOf(path);
    const verdict = this.tracker.observe(path, probe, now);
    if (previous && (previous.size !== probe.size || previous.mtimeMs !== probe.mtimeMs || previous.extra !== probe.extra)) this.active.add(path);
    if (verdict === 'pending') {
      const fast = this.folder?.mode === 'poll' && this.active.has(path) ? now + Math.min(this.config.pollIntervalMs, 1000) : Infinity;
      this.schedule.at(path, Math.min(this.tracker.dueAt(path)!, fast));
      return;
    }
    const verdictOf = probe.kind === 'file' ? judgeFile(path, probe.size, probe.companions, companion) : judgeFolder(unit.folderRule!, probe.members);
    if (verdictOf.state === 'empty') {
      this.empties.add(path);
      this.schedule.at(path, now + Math.max(this.config.stableMs, this.config.pollIntervalMs));
      return;
    }
    this.empties.delete(path);
    if (verdictOf.state === 'waiting') {
      const quietSince = this.tracker.changedAt(path)!;
      if (now - quietSince >= verdictOf.timeoutMs) {
        this.waiting.delete(path);
        this.markFailed(path, `${verdictOf.reason}; nothing changed for ${formatDuration(verdictOf.timeoutMs)}`, verdictOf.rule, true);
        return;
      }
      this.waiting.set(path, verdictOf.reason);
      this.schedule.at(path, Math.min(quietSince + verdictOf.timeoutMs, now + Math.max(this.config.stableMs, 1000)));
      return;
    }
    this.untrack(path);
    this.failed.delete(path);
    this.settle(path, unit, probe);
  }

  /** Queues a complete acquisition for hashing and announcing. */
  private settle(path: string, unit: Unit, probe: Settleable): void {
    this.busy.set(path, { dirty: false });
    this.ready.push({ path, unit, probe });
    this.pumpSettle();
  }

  private pumpSettle(): void {
    while (!this.stopped && this.settling < this.maxSettling) {
      const job = this.ready.shift();
      if (!job) return;
      this.settling++;
      const { path, unit, probe } = job;
      const p = (async () => {
        const hashed: Hashed = probe.kind === 'file' ? await this.announcer.hashFile(path, probe) : await this.announcer.hashFolder(path, probe);
        await this.afterHash(path, unit, hashed);
      })()
        .catch((err: unknown) => {
          this.logger.error({ path, err: errorMessage(err) }, 'announcing failed; will look again');
          const state = this.busy.get(path);
          if (state) state.dirty = true;
        })
        .finally(() => {
          const dirty = this.busy.get(path)?.dirty ?? false;
          this.busy.delete(path);
          this.settling--;
          this.inFlight.delete(p);
          if (dirty && !this.stopped) this.schedule.at(path, this.now());
          this.pumpSettle();
          if (this.ready.length < READY_LIMIT / 2) this.pumpLooks();
        });
      this.inFlight.add(p);
    }
  }

  private async afterHash(path: string, unit: Unit, hashed: Hashed): Promise<void> {
    const now = this.now();
    switch (hashed.kind) {
      case 'stopped':
        return;
      case 'gone':
        this.forget(path);
        return;
      case 'changed':
        // Written while we read it: the hash is of no complete state. The window starts again.
        this.active.add(path);
        this.schedule.at(path, now);
        return;
      case 'unreadable':
        this.markUnreadable(path, hashed.path, hashed.error);
        this.schedule.at(path, now + this.config.retryUnreadableMs);
        return;
      case 'hashed':
        break;
    }
    this.unreadable.delete(path);
    const result = await this.announcer.announce(path, hashed);
    if (result.kind === 'failed') {
      this.markFailed(path, result.reason, 'announce', false);
      return;
    }
    if (result.kind === 'duplicate') {
      this.duplicates++;
      return;
    }
    if (result.kind === 'stopped') return;
    this.announced++;
    watcherMetrics.detected.inc({ instrument: this.config.name });
    this.lastDetection = { at: new Date(now).toISOString(), path };
    this.logger.info({ path, kind: hashed.entry.kind, size: hashed.entry.size, sha256: hashed.entry.sha256, fileId: result.fileId, members: unit.folderRule ? hashed.manifest?.length : undefined }, 'acquisition detected');
  }

  /** Stops following a path for stability (it is complete, or failed by name). */
  private untrack(path: string): void {
    this.tracker.forget(path);
    this.schedule.delete(path);
    this.active.delete(path);
    this.waiting.delete(path);
    this.empties.delete(path);
  }

  /** The path is gone, a plain directory, or settled: nothing about it is pending or wrong. */
  private forget(path: string): void {
    this.untrack(path);
    this.failed.delete(path);
    this.unreadable.delete(path);
  }

  private markFailed(path: string, reason: string, rule: string, tracked: boolean): void {
    if (this.failed.get(path)?.reason === reason) return;
    const at = new Date(this.now()).toISOString();
    this.failed.set(path, { reason, rule, at, tracked });
    this.lastFailure = { path, reason, at };
    this.logger.warn({ path, rule, reason }, 'acquisition failed; not announced');
    this.options.onNotable?.();
  }

  private markUnreadable(unit: string, path: string, error: string, directory = false): void {
    const known = this.unreadable.get(unit);
    if (known) {
      known.attempts++;
      known.error = error;
      known.path = path;
      this.logger.debug({ path, error, attempts: known.attempts }, 'still unreadable');
      return;
    }
    this.unreadable.set(unit, { path, error, since: new Date(this.now()).toISOString(), attempts: 1, directory });
    this.logger.warn({ path, err: error, retryMs: this.config.retryUnreadableMs }, 'cannot read; will retry');
    this.options.onNotable?.();
  }

  stats(): InstrumentStats {
    let failedTracked = 0;
    for (const f of this.failed.values()) if (f.tracked) failedTracked++;
    const reading = this.announcer.reading.size;
    return {
      instrument: this.config.name,
      pending: Math.max(0, this.tracker.size - failedTracked - this.empties.size) + Math.max(0, this.busy.size - reading),
      hashing: reading,
      hashedFiles: this.announcer.hashed.files,
      announced: this.announced,
      duplicates: this.duplicates,
      known: this.inventory.state.entries.size,
      empty: this.empties.size,
      unreadable: this.unreadable.size,
      failed: this.failed.size,
      lastDetectionAt: this.lastDetection?.at ?? null,
    };
  }

  /** The heartbeat's details: flat figures, the latest problem of each kind with its path. */
  details(): Record<string, string | number | boolean | null> {
    const s = this.stats();
    const unreadable = [...this.unreadable.values()].at(-1);
    const waiting = [...this.waiting.entries()].at(-1);
    return {
      instrument: s.instrument,
      folder: this.config.folder,
      watchMode: this.folder?.mode ?? this.watchMode?.mode ?? null,
      fsType: this.watchMode?.fs?.name ?? null,
      filesPending: s.pending,
      toLook: this.schedule.size + this.looking.size,
      hashing: s.hashing,
      hashingPath: [...this.announcer.reading.keys()][0] ?? null,
      hashedFiles: s.hashedFiles,
      hashedBytes: this.announcer.hashed.bytes,
      announced: s.announced,
      duplicates: s.duplicates,
      known: s.known,
      emptyFiles: s.empty,
      waiting: this.waiting.size,
      waitingPath: waiting?.[0] ?? null,
      waitingReason: waiting?.[1] ?? null,
      lastDetectionAt: s.lastDetectionAt,
      lastDetectionPath: this.lastDetection?.path ?? null,
      unreadable: s.unreadable,
      unreadablePath: unreadable?.path ?? null,
      unreadableError: unreadable?.error ?? null,
      unreadableSince: unreadable?.since ?? null,
      failed: s.failed,
      failedPath: this.lastFailure && this.failed.has(this.lastFailure.path) ? this.lastFailure.path : ([...this.failed.keys()].at(-1) ?? null),
      failedReason: this.lastFailure && this.failed.has(this.lastFailure.path) ? this.lastFailure.reason : ([...this.failed.values()].at(-1)?.reason ?? null),
      inFlight: this.busy.size,
      rssMB: Math.round(process.memoryUsage.rss() / 1048576),
      heapUsedMB: Math.round(process.memoryUsage().heapUsed / 1048576),
      lastScanAt: this.lastWalk?.at ?? null,
      lastScanMs: this.lastWalk?.ms ?? null,
      scanError: this.rootError ?? null,
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.untrackMetrics?.();
    clearInterval(this.ticker);
    clearInterval(this.rescanTimer);
    this.abort.abort();
    await this.folder?.stop().catch((err: unknown) => this.logger.warn({ err: errorMessage(err) }, 'closing the folder watch failed'));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.walking;
    await this.inventory.close().catch((err: unknown) => this.logger.error({ err: errorMessage(err) }, 'closing the inventory failed'));
  }
}

/** How often deadlines are checked: a tenth of the window, between 20 and 100 ms. */
function tickMsFor(stableMs: number): number {
  return Math.max(20, Math.min(100, Math.floor(stableMs / 10)));
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
