import { watch, type FSWatcher } from 'chokidar';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isIgnoredName } from '../domain/names.js';

/** Options for {@link FolderEvents}. */
export interface FolderEventsOptions {
  dir: string;
  poll: boolean;
  pollIntervalMs: number;
  /** A path (relative to `dir`) may have changed. */
  onTouch: (relPath: string) => void;
  /** A path (relative to `dir`) is gone. */
  onGone: (relPath: string) => void;
  onError: (err: unknown) => void;
}

/**
 * File-system events for one instrument folder: native events or polling (chokidar),
 * plus `rescan()`, a full walk that reports every file, for what events missed.
 */
export class FolderEvents {
  private watcher: FSWatcher | undefined;

  constructor(private readonly options: FolderEventsOptions) {}

  async start(): Promise<void> {
    const { dir } = this.options;
    const rel = (p: string) => relative(dir, p);
    this.watcher = watch(dir, {
      persistent: true,
      ignoreInitial: false,
      usePolling: this.options.poll,
      interval: this.options.pollIntervalMs,
      binaryInterval: this.options.pollIntervalMs,
      ignored: (path: string) => path !== dir && isIgnoredName(path),
    });
    this.watcher
      .on('add', (p) => this.options.onTouch(rel(p)))
      .on('change', (p) => this.options.onTouch(rel(p)))
      .on('unlink', (p) => this.options.onGone(rel(p)))
      .on('error', (err) => this.options.onError(err));
    await new Promise<void>((resolve) => this.watcher?.once('ready', () => resolve()));
  }

  /** Walks the folder and reports every file that is not hidden or temporary. */
  async rescan(): Promise<number> {
    const entries = await readdir(this.options.dir, { recursive: true, withFileTypes: true });
    let count = 0;
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const full = join(entry.parentPath, entry.name);
      const relPath = relative(this.options.dir, full);
      if (relPath.split(/[\\/]/).some((part) => isIgnoredName(part))) continue;
      this.options.onTouch(relPath);
      count++;
    }
    return count;
  }

  async stop(): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    await w?.close();
  }
}
