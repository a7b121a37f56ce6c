import { errorMessage, FerryError, type Bus } from '@ferry/common';
import { randomUUID } from 'node:crypto';

/** A command could not be published (no NATS here, or NATS refused it); nothing was sent. */
export class CommandUnavailableError extends FerryError {}

/**
 * Operator commands as `command.<verb>` events on NATS: the gateway asks, the service
 * a verb belongs to acts (the scheduler takes `retry` and `backup`). Each carries a new
 * id, which is also its message id, so a resent command is not done twice.
 */
export class CommandPublisher {
  constructor(
    private readonly bus: Bus | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Publishes and waits for JetStream to store it; returns the command's id. */
  async send(verb: string, by: string, args: Record<string, unknown>): Promise<string> {
    if (!this.bus) throw new CommandUnavailableError('commands cannot be sent: this gateway has no NATS connection');
    const commandId = randomUUID();
    try {
      await this.bus.publish('command', { commandId, verb, by, at: this.now().toISOString(), args });
    } catch (err) {
      throw new CommandUnavailableError(`the ${verb} command could not be sent: ${errorMessage(err)}`, { cause: err });
    }
    return commandId;
  }
}
