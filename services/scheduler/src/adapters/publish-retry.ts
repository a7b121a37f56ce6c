import { errorMessage, isPermanent, type Bus, type EventName, type EventOf, type Logger } from '@ferry/common';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options for {@link publishWithRetry}. */
export interface PublishRetryOptions {
  logger: Logger;
  /** Stops retrying early, e.g. when the worker shuts down; the last error is thrown. */
  signal?: AbortSignal | undefined;
  /** How long to keep trying (default 30 s). */
  deadlineMs?: number;
  /** First pause between tries; it doubles up to 5 s (default 200 ms). */
  firstDelayMs?: number;
}

/**
 * Publishes through the bus, retrying transient failures (NATS reconnecting, a JetStream
 * leader election) for a while. A job's outcome is worth waiting a few seconds for:
 * giving up means postponing the job. An invalid event fails at once.
 */
export async function publishWithRetry<N extends EventName>(bus: Bus, name: N, event: EventOf<N>, options: PublishRetryOptions): Promise<void> {
  const deadline = Date.now() + (options.deadlineMs ?? 30_000);
  let delay = options.firstDelayMs ?? 200;
  for (let tries = 1; ; tries++) {
    try {
      await bus.publish(name, event);
      return;
    } catch (err) {
      if (isPermanent(err) || options.signal?.aborted || Date.now() + delay > deadline) throw err;
      options.logger.warn({ event: name, tries, err: errorMessage(err), retryInMs: delay }, 'publish failed, retrying');
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch (abort) {
        // Aborted while waiting: report the publish failure, which is what the caller acts on.
        throw new Error(`${errorMessage(err)} (retries stopped: ${errorMessage(abort)})`, { cause: err });
      }
      delay = Math.min(delay * 2, 5000);
    }
  }
}
