import { errorMessage, type Bus, type EventName, type EventOf } from '@ferry/common';

/** True for the server's refusal of a publication or subscription. */
const isPermissionError = (err: unknown) => /permissions violation/i.test(errorMessage(err));

/** 'published' when the server stored it, 'refused' on a permissions violation; anything else fails. */
export async function publishOutcome(b: Bus, event: string, sample: Record<string, unknown>): Promise<'published' | 'refused'> {
  try {
    await b.publish(event as EventName, sample as never);
    return 'published';
  } catch (err) {
    if (isPermissionError(err)) return 'refused';
    throw err;
  }
}

/**
 * Rejection reason of a request (or connection) the server must refuse, for
 * `expect(...).toMatch`; 'it was allowed' when it succeeded, after closing what it
 * resolved to if that has a `close()` (such as a connection).
 */
export async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    const value = await p;
    if (hasClose(value)) await value.close();
  } catch (err) {
    return errorMessage(err);
  }
  return 'it was allowed';
}

function hasClose(value: unknown): value is { close(): Promise<void> } {
  return typeof value === 'object' && value !== null && typeof (value as { close?: unknown }).close === 'function';
}

/**
 * Subscribes to `subject` and reports how the subscription ended within 2 s, and how many
 * messages it got meanwhile (`others` publish matching messages while it is open).
 */
export async function subscribeOutcome(b: Bus, subject: string, others: () => Promise<void> = () => Promise.resolve()): Promise<{ ended: string; received: number }> {
  const sub = b.nc.subscribe(subject);
  let received = 0;
  const ended = (async () => {
    for await (const _m of sub) received++;
    return 'closed';
  })().catch((err: unknown) => (err instanceof Error ? err.name : String(err)));
  await others();
  const outcome = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('still open'), 2000))]);
  if (!sub.isClosed()) sub.unsubscribe();
  return { ended: outcome, received };
}

/**
 * Reads OPS commands through `durable` (new messages only) and keeps what `pick` takes
 * from each; `stop()` ends the consumer.
 */
export async function collectCommands(b: Bus, durable: string, filter: string, pick: (command: EventOf<'command'>) => string): Promise<{ got: string[]; stop: () => Promise<void> }> {
  const got: string[] = [];
  const sub = await b.consume({
    stream: 'OPS',
    durable,
    filter,
    deliverPolicy: 'new',
    events: ['command'],
    handler: ({ event }) => {
      got.push(pick(event));
      return Promise.resolve();
    },
  });
  return { got, stop: () => sub.stop() };
}
