import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@ferry/common';
import { errorMessage } from '@ferry/common';

/** What the watcher remembers of an announced acquisition. */
export interface InventoryEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
  fileId: string;
  announcedAt: string;
}

interface InventoryFile {
  version: 1;
  instrument: string;
  entries: Record<string, InventoryEntry>;
}

/**
 * The watcher's checkpoint: every announced path with the size, mtime and hash it had.
 * A restart consults it so unchanged files are neither hashed nor announced again.
 * Writes are batched and atomic (temporary file, then rename).
 */
export class Inventory {
  private entries = new Map<string, InventoryEntry>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly instrument: string,
    private readonly logger: Logger,
    private readonly flushDelayMs = 500,
  ) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as InventoryFile;
    if (parsed.instrument !== this.instrument) {
      throw new Error(`checkpoint ${this.file} belongs to instrument ${parsed.instrument}, not ${this.instrument}`);
    }
    this.entries = new Map(Object.entries(parsed.entries));
  }

  get(path: string): InventoryEntry | undefined {
    return this.entries.get(path);
  }

  /** True when the path was announced with exactly this size and mtime. */
  isAnnounced(path: string, size: number, mtimeMs: number): boolean {
    const e = this.entries.get(path);
    return e !== undefined && e.size === size && e.mtimeMs === mtimeMs;
  }

  record(path: string, entry: InventoryEntry): void {
    this.entries.set(path, entry);
    this.markDirty();
  }

  get size(): number {
    return this.entries.size;
  }

  private markDirty(): void {
    this.dirty = true;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushDelayMs);
  }

  /** Writes pending changes now. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const body: InventoryFile = { version: 1, instrument: this.instrument, entries: Object.fromEntries(this.entries) };
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        await mkdir(dirname(this.file), { recursive: true });
        await writeFile(tmp, JSON.stringify(body));
        await rename(tmp, this.file);
      } catch (err) {
        this.dirty = true;
        this.logger.error({ file: this.file, err: errorMessage(err) }, 'cannot write the watcher checkpoint');
      }
    });
    return this.writing;
  }
}
