/**
 * Base class for Ferry's errors: sets `name` from the subclass and keeps `cause`.
 */
export class FerryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An error that retrying cannot fix: bad input, missing bucket, denied access. */
export class PermanentError extends FerryError {}

/** A setting is missing or wrong; `issues` names each offending setting. */
export class ConfigError extends FerryError {
  constructor(
    readonly service: string,
    readonly issues: readonly string[],
  ) {
    super(`${service}: invalid configuration:\n  - ${issues.join('\n  - ')}`);
  }
}

/** True when `err` (or anything in its cause chain) is a {@link PermanentError}. */
export function isPermanent(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    if (current instanceof PermanentError) return true;
    current = current.cause;
  }
  return false;
}

/** A readable one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * `work`, or an error after `ms` when it has not settled by then ("<what>: no answer
 * within <ms> ms"). The timer is cleared either way; `work` itself is not cancelled.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what ? `${what}: ` : ''}no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
