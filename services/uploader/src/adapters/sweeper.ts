import { errorMessage, type Logger } from '@ferry/common';
import { selectOrphans } from '../domain/sweep.js';
import type { ResumeStore } from './resume-store.js';
import type { ZoneWriter } from './zone-writer.js';

/** Options for {@link Sweeper}. */
export interface SweeperOptions {
  writers: readonly ZoneWriter[];
  resume?: ResumeStore;
  logger: Logger;
  /** Uploads started longer ago than this, and held by no uploader, are aborted (default 7 days). */
  maxAgeMs: number;
  /** Time between sweeps; 0 sweeps only when asked. */
  intervalMs: number;
  /** An upload whose owner showed progress within this time is never aborted. */
  leaseMs: number;
  now?: () => number;
}

/** What one sweep did in one zone. */
export interface SweepReport {
  zone: string;
  /** False when the store cannot list multipart uploads (s3rver). */
  listed: boolean;
  pending: number;
  aborted: string[];
}

/**
 * Aborts multipart uploads left behind longer than the orphan age (uploaders that died
 * for good, files that vanished), which the store would otherwise keep, and bill, forever.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly warned = new Set<string>();

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.schedule();
    this.timer = setInterval(() => this.schedule(), this.options.intervalMs);
    this.timer.unref();
  }

  private schedule(): void {
    this.running = this.running.then(() => this.sweep()).catch((err: unknown) => {
      this.options.logger.warn({ err: errorMessage(err) }, 'sweep failed');
    });
  }

  /** One pass over every zone. */
  async sweep(): Promise<SweepReport[]> {
    const reports: SweepReport[] = [];
    const now = (this.options.now ?? Date.now)();
    for (const writer of this.options.writers) {
      if (!writer.listPending || !writer.abortPending) continue;
      const zone = writer.zone.name;
      let pending;
      try {
        pending = await writer.listPending();
      } catch (err) {
        this.options.logger.warn({ zone, err: errorMessage(err) }, 'cannot list multipart uploads');
        continue;
      }
      if (!pending) {
        if (!this.warned.has(zone)) this.options.logger.info({ zone }, 'the store cannot list multipart uploads; nothing to sweep there');
        this.warned.add(zone);
        reports.push({ zone, listed: false, pending: 0, aborted: [] });
        continue;
      }
      const states = (await this.options.resume?.list(zone)) ?? [];
      const active = new Set(states.filter((s) => now - Date.parse(s.updatedAt) <= this.options.leaseMs).map((s) => s.uploadId));
      const orphans = selectOrphans(pending, { now, maxAgeMs: this.options.maxAgeMs, prefix: writer.zone.prefix, active });
      const aborted: string[] = [];
      for (const orphan of orphans) {
        try {
          await writer.abortPending(orphan.key, orphan.uploadId);
          aborted.push(orphan.uploadId);
          const sha256 = orphan.key.slice(orphan.key.lastIndexOf('/') + 1);
          if (states.some((s) => s.uploadId === orphan.uploadId)) await this.options.resume?.remove(zone, sha256);
          this.options.logger.info({ zone, key: orphan.key, uploadId: orphan.uploadId, initiated: orphan.initiated.toISOString() }, 'aborted an orphaned multipart upload');
        } catch (err) {
          this.options.logger.warn({ zone, key: orphan.key, err: errorMessage(err) }, 'cannot abort an orphaned multipart upload');
        }
      }
      reports.push({ zone, listed: true, pending: pending.length, aborted });
    }
    return reports;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
