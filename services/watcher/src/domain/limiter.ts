import { Queue } from './queue.js';

/**
 * Runs at most `max` tasks at once; the rest wait in order. Used for hashing (network
 * reads compete with the instrument) and probing.
 */
export class Limiter {
  private running = 0;
  private readonly waiting = new Queue<() => void>();

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`a limiter needs at least one slot, got ${max}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so `running` never dips in between.
      if (next) next();
      else this.running--;
    }
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }
}
