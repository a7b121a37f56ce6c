import { errorMessage } from '@ferry/common/errors';
import type { Logger } from '@ferry/common/logger';
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Limiter } from '../domain/limiter.js';
import { joinRel, toSystemPath } from '../domain/names.js';

/** Where a report about a path comes from. */
export type Source = 'scan' | 'event' | 'poll';

/** Options for {@link FolderWatch}. */
export interface FolderWatchOptions {
  root: string;
  /** `native`: one inotify watch per directory. `poll`: list changed directories every interval. */
  mode: 'native' | 'poll';
  pollIntervalMs: number;
  /** Directories neither walked nor watched (ignored names, excluded folders). */
  skipDirectory: (rel: string) => boolean;
  /** A path (file or directory, relative, forward slashes) appeared, changed or went away. */
  onPath: (rel: string, source: Source) => void;
  /** A directory could not be read; `rel` is '' for the root. */
  onError: (rel: string, err: unknown) => void;
  logger: Logger;
  /** Directories read at once during a walk. */
  concurrency?: number;
}

interface DirState {
  watcher?: FSWatcher;
  /** mtime when last listed (polling). */
  mtimeMs: number;
  /** Entry names when last listed (polling): new names are what polling reports. */
  names?: Set<string>;
}

/** Counts from one walk. */
export interface WalkReport {
  files: number;
  directories: number;
  ms: number;
}

/**
 * The file-system side of one instrument folder, built for trees of 100k files: one
 * native watch per *directory* (chokidar watches every file, which costs about 6 KB and an
 * inotify watch each), or, on shares, a poll that stats directories and lists only those
 * whose mtime moved. A full walk (`rescan`) reports every file, for whatever both missed.
 */
export class FolderWatch {
  private readonly dirs = new Map<string, DirState>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  private nativeFailed = false;
  private readonly limiter: Limiter;

  constructor(private readonly options: FolderWatchOptions) {
    this.limiter = new Limiter(options.concurrency ?? 8);
  }

  /** `native`, or `poll` when asked for, or when native watches ran out (inotify limit). */
  get mode(): 'native' | 'poll' {
    return this.options.mode === 'native' && !this.nativeFailed ? 'native' : 'poll';
  }

  get directories(): number {
    return this.dirs.size;
  }

  /** Walks the whole tree, reporting every file, and starts watching or polling. */
  async start(): Promise<WalkReport> {
    this.stopped = false;
    const report = await this.walk('', 'scan');
    if (this.options.mode === 'poll') this.startPolling();
    return report;
  }

  /** Walks the whole tree again, reporting every file and watching any directory missed. */
  rescan(): Promise<WalkReport> {
    return this.walk('', 'scan');
  }

  private startPolling(): void {
    if (this.pollTimer || this.stopped) return;
    this.pollTimer = setInterval(() => void this.poll(), this.options.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Lists `rel` and everything below it; reports files (and, in polling, remembers names). */
  private async walk(start: string, source: Source): Promise<WalkReport> {
    const began = performance.now();
    const report: WalkReport = { files: 0, directories: 0, ms: 0 };
    const seen = new Set<string>();
    const visit = async (rel: string): Promise<void> => {
      if (this.stopped) return;
      const abs = join(this.options.root, toSystemPath(rel));
      const listed = await this.limiter.run(async () => {
        const info = await stat(abs);
        const entries = await readdir(abs, { withFileTypes: true });
        return { info, entries };
      }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel !== '') this.forgetDir(rel);
        else this.options.onError(rel, err);
        return undefined;
      });
      if (!listed || this.stopped) return;
      seen.add(rel);
      report.directories++;
      const state = this.dirs.get(rel) ?? { mtimeMs: 0 };
      this.dirs.set(rel, state);
      state.mtimeMs = listed.info.mtimeMs;
      if (this.mode === 'native' && !state.watcher) this.watchDir(rel, state);
      const names = this.mode === 'poll' ? new Set<string>() : undefined;
      const subdirs: string[] = [];
      for (const entry of listed.entries) {
        names?.add(entry.name);
        const child = joinRel(rel, entry.name);
        if (entry.isDirectory()) {
          if (!this.options.skipDirectory(child)) subdirs.push(child);
        } else if (entry.isFile() || entry.isSymbolicLink()) {
          report.files++;
          this.options.onPath(child, source);
        }
      }
      if (names) state.names = names;
      await Promise.all(subdirs.map((d) => visit(d)));
    };
    await visit(start);
    if (start === '' && !this.stopped) {
      // Directories that were not found again are gone.
      for (const rel of [...this.dirs.keys()]) if (!seen.has(rel)) this.forgetDir(rel);
    }
    report.ms = Math.round(performance.now() - began);
    return report;
  }

  private watchDir(rel: string, state: DirState): void {
    const abs = join(this.options.root, toSystemPath(rel));
    let w: FSWatcher;
    try {
      w = watch(abs, { persistent: false }, (event, filename) => this.onNative(rel, event, filename));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EMFILE') {
        // Out of inotify watches: polling sees everything, only later.
        this.options.logger.error({ dir: abs, err: errorMessage(err) }, 'cannot add more native watches; polling this folder instead');
        this.nativeFailed = true;
        this.closeWatchers();
        this.startPolling();
        void this.walk('', 'scan');
      } else {
        this.options.onError(rel, err);
      }
      return;
    }
    w.on('error', (err) => {
      // A watched directory that is removed or unmounted ends its watch; a walk adds it back.
      this.options.logger.debug({ dir: abs, err: errorMessage(err) }, 'directory watch ended');
      w.close();
      if (state.watcher === w) state.watcher = undefined;
    });
    state.watcher = w;
  }

  private onNative(dir: string, event: string, filename: string | Buffer | null): void {
    if (this.stopped) return;
    if (filename === null) {
      void this.walk(dir, 'event');
      return;
    }
    const rel = joinRel(dir, filename.toString());
    this.options.onPath(rel, 'event');
    if (event !== 'rename') return;
    // A name appeared or went away: if it is a directory, watch it and report what is in
    // it (a folder copied or moved in arrives whole, with one event).
    const abs = join(this.options.root, toSystemPath(rel));
    lstat(abs).then(
      (info) => {
        if (info.isDirectory() && !this.dirs.has(rel) && !this.options.skipDirectory(rel)) void this.walk(rel, 'event');
      },
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') this.forgetDir(rel);
      },
    );
  }

  /** One polling round: stat every known directory, list those that changed. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    try {
      const now = Date.now();
      // A directory changed twice within its mtime's granularity would look unchanged:
      // list recently modified ones every time.
      const racyMs = 2 * this.options.pollIntervalMs + 2000;
      await Promise.all(
        [...this.dirs.entries()].map(([rel, state]) =>
          this.limiter.run(async () => {
            if (this.stopped) return;
            const abs = join(this.options.root, toSystemPath(rel));
            let info;
            try {
              info = await stat(abs);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel !== '') this.forgetDir(rel, true);
              else this.options.onError(rel, err);
              return;
            }
            if (info.mtimeMs === state.mtimeMs && state.names && now - info.mtimeMs > racyMs) return;
            const entries = await readdir(abs, { withFileTypes: true }).catch((err: unknown) => {
              this.options.onError(rel, err);
              return undefined;
            });
            if (!entries) return;
            state.mtimeMs = info.mtimeMs;
            // No earlier listing (native watching just gave up): this one is the baseline.
            const before = state.names;
            const names = new Set<string>();
            for (const entry of entries) {
              names.add(entry.name);
              if (!before || before.has(entry.name)) continue;
              const child = joinRel(rel, entry.name);
              if (entry.isDirectory()) {
                if (!this.options.skipDirectory(child) && !this.dirs.has(child)) void this.walk(child, 'poll');
              } else {
                this.options.onPath(child, 'poll');
              }
            }
            for (const name of before ?? []) {
              if (names.has(name)) continue;
              const child = joinRel(rel, name);
              if (this.dirs.has(child)) this.forgetDir(child, true);
              else this.options.onPath(child, 'poll');
            }
            state.names = names;
          }),
        ),
      );
    } finally {
      this.polling = false;
    }
  }

  /** Stops watching a directory that is gone, and everything below it. */
  private forgetDir(rel: string, report = false): void {
    const prefix = `${rel}/`;
    for (const [dir, state] of this.dirs) {
      if (dir !== rel && !dir.startsWith(prefix)) continue;
      state.watcher?.close();
      this.dirs.delete(dir);
      if (report) for (const name of state.names ?? []) this.options.onPath(joinRel(dir, name), 'poll');
    }
    if (report) this.options.onPath(rel, 'poll');
  }

  private closeWatchers(): void {
    for (const state of this.dirs.values()) {
      state.watcher?.close();
      state.watcher = undefined;
    }
  }

  stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.closeWatchers();
    return Promise.resolve();
  }
}
