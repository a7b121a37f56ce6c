import { errorMessage } from '@ferry/common/errors';
import type { Logger } from '@ferry/common/logger';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { InventoryState, type HashedMember, type InventoryEntry, type JournalHeader, type JournalLine } from '../domain/inventory-state.js';

/** Options for {@link Inventory}. */
export interface InventoryOptions {
  file: string;
  instrument: string;
  logger: Logger;
  /** Compact once the journal has this many lines more than the state needs (default 10 000). */
  compactSlack?: number;
}

/** What {@link Inventory.load} found. */
export interface LoadReport {
  entries: number;
  lines: number;
  /** Lines that could not be read (a write cut short by a crash, usually the last). */
  skipped: number;
  /** The file was in the old single-JSON format and has been converted. */
  migrated: boolean;
}

const SYNC_EVERY_MS = 1000;

interface V1File {
  version: 1;
  instrument: string;
  entries: Record<string, { size: number; mtimeMs: number; sha256: string }>;
}

/**
 * The watcher's persistent inventory: an append-only JSON-lines journal, replayed at start
 * and compacted (rewritten to a temporary file, then renamed) when it grows well past what
 * it describes. Appending costs one write per batch however large the tree is; the old
 * checkpoint rewrote everything on each change. Lines are written as they come and synced
 * at least every second, and before {@link flush} resolves; a line cut short by a crash is
 * skipped at the next start, and what it described is found again and deduplicated by
 * its message id.
 */
export class Inventory {
  readonly state = new InventoryState();
  private handle: FileHandle | undefined;
  private pending: string[] = [];
  private chain: Promise<void> = Promise.resolve();
  private draining = false;
  private linesInFile = 0;
  private unsynced = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: InventoryOptions) {}

  get file(): string {
    return this.options.file;
  }

  async load(): Promise<LoadReport> {
    const { file, instrument } = this.options;
    await mkdir(dirname(file), { recursive: true });
    const report: LoadReport = { entries: 0, lines: 0, skipped: 0, migrated: false };
    let exists = true;
    try {
      const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
      let first = true;
      for await (const text of lines) {
        if (text.trim() === '') continue;
        report.lines++;
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          report.skipped++;
          continue;
        }
        if (first) {
          first = false;
          const head = parsed as Partial<JournalHeader & V1File>;
          if (head.version === 1 && head.entries) {
            if (head.instrument !== instrument) throw new Error(`inventory ${file} belongs to instrument ${head.instrument}, not ${instrument}`);
            for (const [path, e] of Object.entries(head.entries)) this.state.settle(path, { kind: 'file', size: e.size, mtimeMs: e.mtimeMs, sha256: e.sha256 });
            report.migrated = true;
            continue;
          }
          if (head.ferry !== 'watcher-inventory') throw new Error(`${file} is not a watcher inventory`);
          if (head.instrument !== instrument) throw new Error(`inventory ${file} belongs to instrument ${head.instrument}, not ${instrument}`);
          continue;
        }
        try {
          this.state.apply(parsed);
        } catch {
          report.skipped++;
        }
      }
      if (first) exists = false;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      exists = false;
    }
    report.entries = this.state.entries.size;
    if (report.skipped > 0) this.options.logger.warn({ file, skipped: report.skipped }, 'skipped unreadable inventory lines');
    this.linesInFile = report.lines;
    // A line cut short by a crash would swallow the next one appended: rewrite then too.
    if (!exists || report.migrated || report.skipped > 0 || report.lines > this.neededLines() + this.slack) {
      await this.rewrite();
    } else {
      this.handle = await open(file, 'a');
    }
    return report;
  }

  private get slack(): number {
    return this.options.compactSlack ?? 10_000;
  }

  private neededLines(): number {
    return 1 + this.state.entries.size + this.state.pendingMembers.size + Math.max(0, this.state.contents.size - this.state.entries.size);
  }

  /** Records a settled acquisition (announced, or known content) and journals it. */
  settle(path: string, entry: InventoryEntry): void {
    this.state.settle(path, entry);
    this.append(InventoryState.lineOf(path, entry));
  }

  /** Remembers one hashed member of a folder not yet settled, for a restart mid-folder. */
  rememberMember(folder: string, member: HashedMember): void {
    const key = `${folder}/${member.path}`;
    this.state.pendingMembers.set(key, { ...member, path: key });
    this.append({ t: 'member', p: key, s: member.size, m: member.mtimeMs, h: member.sha256 });
  }

  private append(line: JournalLine): void {
    if (this.closed) return;
    this.pending.push(`${JSON.stringify(line)}\n`);
    if (!this.draining) {
      this.draining = true;
      // Lines settled in the same turn go out in one write.
      setImmediate(() => void this.enqueue(() => this.drain()));
    }
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.options.logger.error({ file: this.options.file, err: errorMessage(err) }, 'cannot write the watcher inventory');
    });
    return this.chain;
  }

  private async drain(sync = false): Promise<void> {
    this.draining = false;
    if (!this.handle) return;
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.handle.write(batch.join(''));
        this.linesInFile += batch.length;
        this.unsynced = true;
      } catch (err) {
        // Keep the lines; the next append or flush tries again.
        this.pending = batch.concat(this.pending);
        throw err;
      }
      if (this.linesInFile > this.neededLines() + this.slack) await this.rewrite();
    }
    if (!this.unsynced) return;
    if (sync) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
      this.unsynced = false;
      await this.handle.datasync();
    } else {
      // Written lines survive a crash of the process; a sync a second bounds what a power
      // cut can take (found again at the next start, and deduplicated by message id).
      this.syncTimer ??= setTimeout(() => {
        this.syncTimer = undefined;
        void this.enqueue(() => this.drain(true));
      }, SYNC_EVERY_MS);
    }
  }

  /** Rewrites the journal from the state: temporary file, sync, rename. */
  private async rewrite(): Promise<void> {
    const { file, instrument } = this.options;
    // The snapshot already holds whatever the pending lines say.
    const lines = [...this.state.lines()];
    this.pending = [];
    const tmp = `${file}.${process.pid}.compact`;
    const out = await open(tmp, 'w');
    try {
      const header: JournalHeader = { ferry: 'watcher-inventory', v: 2, instrument };
      let chunk = `${JSON.stringify(header)}\n`;
      for (const line of lines) {
        chunk += `${JSON.stringify(line)}\n`;
        if (chunk.length > 1 << 20) {
          await out.write(chunk);
          chunk = '';
        }
      }
      await out.write(chunk);
      await out.sync();
    } catch (err) {
      await out.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await out.close();
    await this.handle?.close();
    this.handle = undefined;
    await rename(tmp, file);
    this.handle = await open(file, 'a');
    this.linesInFile = lines.length + 1;
    this.unsynced = false;
  }

  /** Resolves when everything recorded so far is written and synced to disk. */
  flush(): Promise<void> {
    return this.enqueue(() => this.drain(true));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    await this.chain;
    await this.handle?.close();
    this.handle = undefined;
  }
}
