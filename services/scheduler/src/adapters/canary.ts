import { errorMessage, type Bus, type Logger } from '@ferry/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** How one canary check ended. */
export type CanaryOutcome = 'ok' | 'late' | 'failed';

/** The result of one check; also what the canary's heartbeat carries. */
export interface CanaryResult {
  result: CanaryOutcome;
  /** From writing the file to its `done` (for `ok`), or to giving up. */
  latencyMs: number;
  checkedAt: string;
  sha256: string;
  /** Which step failed, or what was last seen when late. */
  detail?: string | undefined;
}

/** Options for {@link createCanary}. */
export interface CanaryOptions {
  bus: Bus;
  /** The canary instrument's folder, watched by a watcher of instrument `instrument`. */
  dir: string;
  instrument: string;
  /** A file must be `done` within this long. */
  limitMs: number;
  /** Time between checks; the heartbeat tells the monitor to expect one that often. */
  intervalMs: number;
  /** Names the checking host in the file, for whoever finds one. */
  instance: string;
  version: string;
  logger: Logger;
}

/** The canary: one check writes a file and follows it through the chain. */
export interface Canary {
  check(): Promise<CanaryResult>;
}

/** Files the canary writes start with this, so it can clean up after itself. */
export const CANARY_FILE_PREFIX = 'ferry-canary-';

/**
 * Creates the canary. A check writes a small file of unique content into the canary
 * instrument's folder and listens on the bus for its hash: `upload.done`, then
 * `job.done` or `job.skipped` means the whole chain works. The result goes out as a
 * `canary.result` event, which the monitor's `canary_failed` rule alerts on (a check
 * late or failed, or no result for two intervals), and as a heartbeat of service
 * `canary`, instance `<instrument>`, so the check shows among the components with
 * `lastResult`, `lastLatencyMs` and `lastCheckAt` in its details.
 */
export function createCanary(options: CanaryOptions): Canary {
  const startedAt = new Date().toISOString();
  return {
    async check() {
      await mkdir(options.dir, { recursive: true });
      // Files of earlier checks are gone by now or never will be: keep the folder small.
      for (const name of await readdir(options.dir)) {
        if (name.startsWith(CANARY_FILE_PREFIX)) await rm(join(options.dir, name), { force: true });
      }
      const checkedAt = new Date();
      const stamp = checkedAt.toISOString().replace(/[-:.]/g, '');
      const content = `Ferry canary from ${options.instance} at ${checkedAt.toISOString()} ${randomBytes(16).toString('hex')}\n`;
      const sha256 = createHash('sha256').update(content).digest('hex');
      const name = `${CANARY_FILE_PREFIX}${stamp}-${randomBytes(3).toString('hex')}.txt`;

      let stored = false;
      let settle: (r: { result: CanaryOutcome; detail?: string }) => void = () => undefined;
      const outcome = new Promise<{ result: CanaryOutcome; detail?: string }>((resolve) => {
        settle = resolve;
      });
      // Subscribed before the file exists, so nothing about it can be missed.
      const subs = [
        options.bus.subscribeCore('upload.done', (e) => {
          if (e.sha256 === sha256) stored = true;
        }),
        options.bus.subscribeCore('upload.failed', (e) => {
          if (e.sha256 === sha256 && e.final) settle({ result: 'failed', detail: `upload failed: ${e.error}` });
        }),
        options.bus.subscribeCore('job.failed', (e) => {
          if (e.sha256 === sha256 && e.final) settle({ result: 'failed', detail: `job ${e.pipeline} failed: ${e.error}` });
        }),
        options.bus.subscribeCore('job.done', (e) => {
          if (e.sha256 === sha256) settle({ result: 'ok' });
        }),
        options.bus.subscribeCore('job.skipped', (e) => {
          if (e.sha256 === sha256) settle({ result: 'ok' });
        }),
      ];
      await options.bus.nc.flush();
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let end: { result: CanaryOutcome; detail?: string };
      try {
        // Written under a temporary name the watcher ignores, then renamed: it appears whole.
        const part = join(options.dir, `${name}.part`);
        await writeFile(part, content);
        await rename(part, join(options.dir, name));
        timer = setTimeout(() => settle({ result: 'late', detail: stored ? 'stored, but not processed in time' : 'not stored in time' }), options.limitMs);
        end = await outcome;
      } catch (err) {
        end = { result: 'failed', detail: `cannot write the canary file: ${errorMessage(err)}` };
      } finally {
        clearTimeout(timer);
        for (const s of subs) s.stop();
      }
      const latencyMs = Math.round(performance.now() - started);
      await rm(join(options.dir, name), { force: true });
      const result: CanaryResult = { result: end.result, latencyMs, checkedAt: checkedAt.toISOString(), sha256, detail: end.detail };
      (end.result === 'ok' ? options.logger.info.bind(options.logger) : options.logger.error.bind(options.logger))({ ...result }, 'canary check');
      await options.bus.publish('canary.result', {
        checkId: randomUUID(),
        instrument: options.instrument,
        instance: options.instance,
        result: result.result,
        latencyMs,
        limitMs: options.limitMs,
        intervalMs: options.intervalMs,
        sha256,
        checkedAt: result.checkedAt,
        ...(result.detail === undefined ? {} : { detail: result.detail }),
      });
      await options.bus.publish('heartbeat', {
        service: 'canary',
        instance: options.instrument,
        version: options.version,
        at: new Date().toISOString(),
        // One beat per check; a check can take up to the limit.
        intervalMs: options.intervalMs + options.limitMs,
        startedAt,
        disks: [],
        details: { lastResult: result.result, lastLatencyMs: latencyMs, lastCheckAt: result.checkedAt, lastDetail: result.detail ?? null },
      });
      return result;
    },
  };
}
