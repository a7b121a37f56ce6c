/** What the watcher last saw of a candidate path. */
export interface Observation {
  size: number;
  mtimeMs: number;
}

interface Candidate extends Observation {
  /** When size or mtime last changed (or the path was first seen). */
  changedAt: number;
}

/** The verdict on a candidate after an observation. */
export type Verdict = 'pending' | 'stable' | 'empty';

/**
 * Decides when a file is complete: its size and mtime have not changed for the whole
 * window. A 0-byte file is never complete (instruments create files before writing).
 * Pure: the caller passes the clock, so tests need no sleeps.
 */
export class StabilityTracker {
  private readonly candidates = new Map<string, Candidate>();

  constructor(private readonly windowMs: number) {}

  /** Records an observation and says whether the path is complete now. */
  observe(path: string, seen: Observation, now: number): Verdict {
    const known = this.candidates.get(path);
    if (!known || known.size !== seen.size || known.mtimeMs !== seen.mtimeMs) {
      this.candidates.set(path, { ...seen, changedAt: now });
      return seen.size === 0 ? 'empty' : 'pending';
    }
    if (seen.size === 0) return 'empty';
    return now - known.changedAt >= this.windowMs ? 'stable' : 'pending';
  }

  /** When the path would become stable if nothing changes (for scheduling the next look). */
  dueAt(path: string): number | undefined {
    const known = this.candidates.get(path);
    return known ? known.changedAt + this.windowMs : undefined;
  }

  forget(path: string): void {
    this.candidates.delete(path);
  }

  has(path: string): boolean {
    return this.candidates.has(path);
  }

  paths(): string[] {
    return [...this.candidates.keys()];
  }

  get size(): number {
    return this.candidates.size;
  }
}
