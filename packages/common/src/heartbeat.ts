import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Bus } from './bus.js';
import { errorMessage } from './errors.js';
import type { EventOf } from './events.js';

/** Options for {@link HeartbeatPublisher}. */
export interface HeartbeatOptions {
  bus: Bus;
  logger: Logger;
  service: string;
  instance: string;
  version: string;
  intervalMs?: number;
  /** Folders whose volumes' free and total bytes are reported. */
  volumes?: () => string[];
  /** Service-specific figures read at each beat. */
  details?: () => Record<string, string | number | boolean | null>;
  /** The zones this service serves (uploaders), without credentials. */
  zones?: () => EventOf<'heartbeat'>['zones'];
}

/** Free and total bytes of the volume holding `path`. */
export async function volumeUsage(path: string): Promise<{ path: string; freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  return { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/** Publishes `heartbeat.<service>.<instance>` at start and every interval until stopped. */
export class HeartbeatPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = new Date().toISOString();
  private beating: Promise<void> = Promise.resolve();

  constructor(private readonly options: HeartbeatOptions) {}

  get intervalMs(): number {
    return this.options.intervalMs ?? 30_000;
  }

  start(): void {
    if (this.timer) return;
    this.beat();
    this.timer = setInterval(() => this.beat(), this.intervalMs);
    this.timer.unref();
  }

  /** Sends one beat now (also used right after a state change worth showing). */
  beat(): void {
    this.beating = this.beating.then(() => this.send()).catch((err: unknown) => {
      this.options.logger.warn({ err: errorMessage(err) }, 'heartbeat not sent');
    });
  }

  private async send(): Promise<void> {
    const disks = [];
    for (const path of this.options.volumes?.() ?? []) {
      try {
        disks.push(await volumeUsage(path));
      } catch (err) {
        this.options.logger.warn({ path, err: errorMessage(err) }, 'cannot read volume usage');
      }
    }
    await this.options.bus.publish('heartbeat', {
      service: this.options.service,
      instance: this.options.instance,
      version: this.options.version,
      at: new Date().toISOString(),
      intervalMs: this.intervalMs,
      startedAt: this.startedAt,
      disks,
      details: this.options.details?.() ?? {},
      zones: this.options.zones?.(),
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
  }
}
