interface Candidate<N> {
  /** What the unit looked like: size and mtime of the file, or of every member of a folder. */
  signature: string;
  /** When we first saw the current signature; the window runs from here. */
  changedAt: number;
  /** What the caller wants back at the deadline (the watcher: a plain file's size and mtime). */
  note: N | undefined;
}

/** The verdict on a candidate after an observation. */
export type Verdict = 'pending' | 'stable';

/** The signature of one file's state; any write changes its size or its mtime. */
export function fileSignature(size: number, mtimeMs: number): string {
  return `${size}:${mtimeMs}`;
}

/**
 * Decides when an acquisition has stopped changing: the same signature (size and mtime
 * of the file, or of every member) observed at least the whole window apart. The window
 * starts when *we* saw a change, never at the file's mtime: a share's clock may be off,
 * and starting later than the last write is what makes an early announcement impossible.
 * Pure: the caller passes the clock, so tests need no sleeps.
 */
export class StabilityTracker<N = undefined> {
  private readonly candidates = new Map<string, Candidate<N>>();

  constructor(readonly windowMs: number) {}

  /** Records an observation and says whether the unit has been unchanged for the window. */
  observe(path: string, signature: string, now: number, note?: N): Verdict {
    const known = this.candidates.get(path);
    if (!known || known.signature !== signature) {
      this.candidates.set(path, { signature, changedAt: now, note });
      return 'pending';
    }
    return now - known.changedAt >= this.windowMs ? 'stable' : 'pending';
  }

  /** When the unit would become stable if nothing changes. */
  dueAt(path: string): number | undefined {
    const known = this.candidates.get(path);
    return known ? known.changedAt + this.windowMs : undefined;
  }

  /** The last signature observed, if the unit is followed. */
  signatureOf(path: string): string | undefined {
    return this.candidates.get(path)?.signature;
  }

  /** The note given with the current signature. */
  noteOf(path: string): N | undefined {
    return this.candidates.get(path)?.note;
  }

  /** When the current signature was first seen. */
  changedAt(path: string): number | undefined {
    return this.candidates.get(path)?.changedAt;
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
