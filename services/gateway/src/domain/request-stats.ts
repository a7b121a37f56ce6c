/** One answer, as the request statistics count it. */
export interface RequestSample {
  /** Epoch ms when the request started; counted in its hour. */
  at: number;
  /** The route pattern (`/api/v1/files/:id`), never the raw path. */
  route: string;
  method: string;
  status: number;
  /** Token name, or `anonymous@<address>` for unauthenticated requests. */
  client: string;
  durationMs: number;
}

/** Counts of one (hour, route, method, status, client). */
export interface RequestCount {
  hour: Date;
  route: string;
  method: string;
  status: number;
  client: string;
  count: number;
  totalMs: number;
}

const HOUR_MS = 3_600_000;

/** Clients beyond this many distinct keys are counted as `other`, so a flood of addresses cannot grow memory. */
export const MAX_PENDING_KEYS = 10_000;

/**
 * Adds answers up in memory until they are drained into the database. Bounded: once
 * `maxKeys` distinct keys are pending, new clients are counted as `other`.
 */
export class RequestCounter {
  private pending = new Map<string, RequestCount>();

  constructor(private readonly maxKeys = MAX_PENDING_KEYS) {}

  add(sample: RequestSample): void {
    const hour = Math.floor(sample.at / HOUR_MS) * HOUR_MS;
    let key = `${hour}\u0000${sample.route}\u0000${sample.method}\u0000${sample.status}\u0000${sample.client}`;
    let client = sample.client;
    if (!this.pending.has(key) && this.pending.size >= this.maxKeys) {
      client = 'other';
      key = `${hour}\u0000${sample.route}\u0000${sample.method}\u0000${sample.status}\u0000other`;
    }
    const entry = this.pending.get(key);
    if (entry) {
      entry.count++;
      entry.totalMs += sample.durationMs;
    } else {
      this.pending.set(key, { hour: new Date(hour), route: sample.route, method: sample.method, status: sample.status, client, count: 1, totalMs: sample.durationMs });
    }
  }

  /** Takes everything pending; give it back with {@link restore} if storing it failed. */
  drain(): RequestCount[] {
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }

  /** Puts counts back after a failed flush, adding to what came in meanwhile. */
  restore(counts: readonly RequestCount[]): void {
    for (const c of counts) {
      const key = `${c.hour.getTime()}\u0000${c.route}\u0000${c.method}\u0000${c.status}\u0000${c.client}`;
      const entry = this.pending.get(key);
      if (entry) {
        entry.count += c.count;
        entry.totalMs += c.totalMs;
      } else if (this.pending.size < this.maxKeys) {
        this.pending.set(key, { ...c });
      }
    }
  }

  get size(): number {
    return this.pending.size;
  }
}
