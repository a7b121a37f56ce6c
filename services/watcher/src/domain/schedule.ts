/**
 * When to look at each path next. Times are rounded *up* to the resolution, so a path is
 * never taken before its time: a look at a stability deadline never comes early. Earlier
 * requests win, so an event can bring a look forward but a later plan cannot push it back.
 * Pure and O(due) per tick, for trees of 100k files.
 */
export class Schedule {
  /** Slots are counted in resolutions from the first one: small integers, not heap numbers. */
  private readonly slotOf = new Map<string, number>();
  private readonly slots = new Map<number, Set<string>>();
  private epoch: number | undefined;

  constructor(private readonly resolutionMs: number) {}

  private slotFor(time: number): number {
    const n = Math.ceil(time / this.resolutionMs);
    this.epoch ??= n;
    return n - this.epoch;
  }

  private timeOf(slot: number): number {
    return (slot + this.epoch!) * this.resolutionMs;
  }

  /** Plans a look at `path` at `time` or, if one is planned earlier, keeps that. */
  at(path: string, time: number): void {
    const slot = this.slotFor(time);
    const current = this.slotOf.get(path);
    if (current !== undefined) {
      if (current <= slot) return;
      this.slots.get(current)?.delete(path);
    }
    this.slotOf.set(path, slot);
    let set = this.slots.get(slot);
    if (!set) this.slots.set(slot, (set = new Set()));
    set.add(path);
  }

  delete(path: string): void {
    const slot = this.slotOf.get(path);
    if (slot === undefined) return;
    this.slotOf.delete(path);
    this.slots.get(slot)?.delete(path);
  }

  /** Removes and returns paths whose time has come, at most `max` of them. */
  takeDue(now: number, max = Infinity): string[] {
    const due: string[] = [];
    for (const [slot, paths] of this.slots) {
      if (this.timeOf(slot) > now) continue;
      for (const p of paths) {
        if (due.length >= max) return due;
        paths.delete(p);
        this.slotOf.delete(p);
        due.push(p);
      }
      this.slots.delete(slot);
    }
    return due;
  }

  /** When `path` will be looked at, if planned. */
  plannedAt(path: string): number | undefined {
    const slot = this.slotOf.get(path);
    return slot === undefined ? undefined : this.timeOf(slot);
  }

  get size(): number {
    return this.slotOf.size;
  }
}
