/**
 * Remembers the answer of an expensive read for a short while, per key, and shares one
 * computation among callers that ask at once: a page that many people have open asks
 * the database once per interval, not once per person. A failed computation is not kept.
 */
export class Memo<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100,
  ) {}

  get(key: string, compute: () => Promise<V>): Promise<V> {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.ttlMs) return entry.value;
    if (this.entries.size >= this.maxKeys) this.entries.clear();
    const value = compute();
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}
