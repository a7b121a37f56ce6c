import { errorMessage, withTimeout, type Bus, type Database } from '@ferry/common';
import type { RequestHandler } from 'express';
import { sql, type Kysely } from 'kysely';

/** The outcome of one dependency check. */
export interface CheckResult {
  ok: boolean;
  error?: string;
  ms: number;
}

/** The body of `GET /health`. */
export interface HealthBody {
  status: 'ok' | 'degraded';
  checks: Record<string, CheckResult>;
}

/** A check slower than this counts as failed: a probe must answer before its own timeout. */
export const CHECK_TIMEOUT_MS = 2000;

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(check(), timeoutMs);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, error: errorMessage(err), ms: Math.round(performance.now() - started) };
  }
}

/**
 * Runs every check at once. `nats` is checked only when the gateway was given a bus:
 * a server round trip (flush), since `isClosed()` alone stays false while reconnecting.
 */
export async function checkHealth(deps: { db: Kysely<Database>; bus?: Bus | undefined; timeoutMs?: number }): Promise<HealthBody> {
  const timeoutMs = deps.timeoutMs ?? CHECK_TIMEOUT_MS;
  const checks: Record<string, Promise<CheckResult>> = {
    postgres: timed(() => sql`select 1`.execute(deps.db), timeoutMs),
  };
  const bus = deps.bus;
  if (bus) {
    checks.nats = timed(() => (bus.nc.isClosed() ? Promise.reject(new Error('connection closed')) : bus.nc.flush()), timeoutMs);
  }
  const results: Record<string, CheckResult> = {};
  for (const [name, pending] of Object.entries(checks)) results[name] = await pending;
  return { status: Object.values(results).every((r) => r.ok) ? 'ok' : 'degraded', checks: results };
}

/** `GET /health`: 200 when every dependency answers, 503 with each result otherwise. */
export function healthRoute(deps: { db: Kysely<Database>; bus?: Bus | undefined; timeoutMs?: number }): RequestHandler {
  return async (_req, res) => {
    const body = await checkHealth(deps);
    res.setHeader('Cache-Control', 'no-store');
    res.status(body.status === 'ok' ? 200 : 503).json(body);
  };
}
