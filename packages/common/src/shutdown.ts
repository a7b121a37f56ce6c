import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

type Handler = () => Promise<void> | void;

/** Options for {@link ShutdownRegistry}. */
export interface ShutdownOptions {
  logger: Logger;
  /** Longest time all handlers together may take before the process exits anyway. */
  deadlineMs?: number;
  /** Replaced in tests; `process.exit` by default. */
  exit?: (code: number) => void;
}

/**
 * One per process. Handlers run in the order they were added, each under the
 * overall deadline; a failing handler is logged and the next one still runs.
 */
export class ShutdownRegistry {
  private readonly handlers: { name: string; fn: Handler }[] = [];
  private running: Promise<void> | undefined;
  private readonly deadlineMs: number;
  private readonly exit: (code: number) => void;

  constructor(private readonly options: ShutdownOptions) {
    this.deadlineMs = options.deadlineMs ?? 25_000;
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Adds a named step; steps run first-added first. */
  add(name: string, fn: Handler): void {
    this.handlers.push({ name, fn });
  }

  /** Runs every handler once; later calls return the same promise. */
  run(reason: string): Promise<void> {
    this.running ??= this.runAll(reason);
    return this.running;
  }

  /** Wires SIGINT and SIGTERM: run the handlers, then exit with 128 + signal number. */
  listen(): void {
    const onSignal = (signal: NodeJS.Signals, code: number) => {
      this.options.logger.info({ signal }, 'shutting down');
      void this.run(signal).then(() => this.exit(128 + code));
    };
    process.once('SIGINT', () => onSignal('SIGINT', 2));
    process.once('SIGTERM', () => onSignal('SIGTERM', 15));
  }

  private async runAll(reason: string): Promise<void> {
    const deadline = Date.now() + this.deadlineMs;
    for (const { name, fn } of this.handlers) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.options.logger.error({ step: name, reason }, 'shutdown deadline passed, skipping remaining steps');
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(fn),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${left} ms`)), left);
          }),
        ]);
      } catch (err) {
        this.options.logger.error({ step: name, err: errorMessage(err) }, 'shutdown step failed');
      } finally {
        clearTimeout(timer);
      }
    }
  }
}
