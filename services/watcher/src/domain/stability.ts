/** What one look saw of an acquisition: a file's size and mtime, or a folder's totals. */
export interface Seen {
  size: number;
  mtimeMs: number;
  /**
   * Anything else that must stay the same: each member of a folder, a companion file.
   * Absent for a plain file, whose size and mtime say it all.
   */
  extra?: string | undefined;
}

interface Candidate {
  size: number;
  mtimeMs: number;
  extra: string | undefined;
  /** When we first saw this state, relative to `epoch` (a small integer in V8). */
  changedAt: number;
}

/** The verdict on a candidate after an observation. */
export type Verdict = 'pending' | 'stable';

/**
 * Decides when an acquisition has stopped changing: the same size and mtime (of the
 * file, or of every member) observed at least the whole window apart. The window starts
 * when *we* saw a change, never at the file's mtime: a share's clock may be off, and
 * starting later than the last write is what makes an early announcement impossible.
 * Pure: the caller passes the clock, so tests need no sleeps. Kept small, as a first scan
 * follows 100k of these at once.
 */
export class StabilityTracker {
  private readonly candidates = new Map<string, Candidate>();
  private epoch: number | undefined;

  constructor(readonly windowMs: number) {}

  /** Records an observation and says whether the unit has been unchanged for the window. */
  observe(path: string, seen: Seen, now: number): Verdict {
    this.epoch ??= now;
    const known = this.candidates.get(path);
    if (!known || known.size !== seen.size || known.mtimeMs !== seen.mtimeMs || known.extra !== seen.extra) {
      this.candidates.set(path, { size: seen.size, mtimeMs: seen.mtimeMs, extra: seen.extra, changedAt: now - this.epoch });
      return 'pending';
    }
    return now - (known.changedAt + this.epoch) >= this.windowMs ? 'stable' : 'pending';
  }

  /** When the unit would become stable if nothing changes. */
  dueAt(path: string): number | undefined {
    const at = this.changedAt(path);
    return at === undefined ? undefined : at + this.windowMs;
  }

  /** When the current state was first seen. */
  changedAt(path: string): number | undefined {
    const known = this.candidates.get(path);
    return known ? known.changedAt + this.epoch! : undefined;
  }

  /** The state last observed, if the unit is followed. */
  seenOf(path: string): Seen | undefined {
    return this.candidates.get(path);
  }

  forget(path: string): void {
    this.candidates.delete(path);
  }

  has(path: string): boolean {
    return this.candidates.has(path);
  }

  get size(): number {
    return this.candidates.size;
  }
}
