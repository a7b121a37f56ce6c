import type { Response } from 'express';
import { CommandUnavailableError, type CommandPublisher } from '../adapters/commands.js';
import { sendError } from './errors.js';

/** Publishes a command and answers 202 with its id, or 503 when it could not be sent. */
export async function acceptCommand(res: Response, commands: CommandPublisher, verb: string, by: string, args: Record<string, unknown>): Promise<void> {
  try {
    const commandId = await commands.send(verb, by, args);
    res.status(202).json({ commandId, verb });
  } catch (err) {
    if (err instanceof CommandUnavailableError) {
      sendError(res, 503, { error: 'unavailable', message: err.message });
      return;
    }
    throw err;
  }
}

/** Waits until `res` can take more, or has closed; true when it can. */
export function writable(res: Response): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (!res.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
