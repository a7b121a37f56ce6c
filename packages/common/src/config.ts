import { hostname } from 'node:os';
import { z } from 'zod';
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

/**
 * Parses `env` with `schema` once, at start. On failure throws a {@link ConfigError}
 * that names every offending variable, so `main.ts` can print it without a stack trace.
 * Empty strings count as unset, so `FOO=` in an env file falls back to the default.
 */
export function parseConfig<S extends z.ZodType>(service: string, schema: S, env: Env = process.env): z.infer<S> {
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.') || '(environment)';
    const got = issue.path.length === 1 ? cleaned[String(issue.path[0])] : undefined;
    const shown = got === undefined ? 'not set' : isSecretName(name) ? 'got a value' : `got "${got}"`;
    return `${name}: ${issue.message} (${shown})`;
  });
  throw new ConfigError(service, issues);
}

/** A boolean from an environment string: true/false, 1/0, yes/no, on/off. */
export const envBoolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']))
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

/** A duration in milliseconds: a number, or a number with ms, s, m, h or d. */
export const envDuration = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/i, 'must be a duration such as 500ms, 5s, 10m, 2h or 7d')
  .transform((v) => parseDuration(v));

/** Parses "5s", "10m", "250" (ms) and the like into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value}`);
  const unit = (match[2] ?? 'ms').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

const url = (protocols: string[]) =>
  z.string().refine((v) => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  }, `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

/** Settings every service shares. */
export const commonEnv = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  FERRY_INSTANCE: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').default(safeHostname()),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']).optional(),
  /** Serves Prometheus `/metrics` on this port when set (0 picks a free one); off by default. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().default('0.0.0.0'),
};

/** NATS connection settings. `NATS_PREFIX` isolates one deployment's subjects and streams. */
export const natsEnv = {
  NATS_URL: z
    .string()
    .default('nats://127.0.0.1:4222')
    .refine((v) => v.split(',').every((s) => /^(nats|tls|wss?):\/\/[^\s]+$/.test(s.trim())), 'must be nats://host:port (comma-separated for a cluster)'),
  NATS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, - and _ only')
    .default(''),
  NATS_USER: z.string().optional(),
  NATS_PASSWORD: z.string().optional(),
  NATS_CREDS_FILE: z.string().optional(),
  /**
   * Where replies to this connection go (`<prefix>.<id>`), default `_INBOX`. With per-user
   * permissions each user gets its own (`_INBOX_<user>`), so none can read another's.
   */
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/, 'subject tokens (letters, digits, _, - and $) separated by dots, no wildcards')
    .optional(),
  /** PEM file of the CA that signed the server's certificate; turns TLS on. */
  NATS_TLS_CA: z.string().optional(),
  /** PEM client certificate and key, for a server that verifies clients (both or neither). */
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
};

/** PostgreSQL connection settings. */
export const databaseEnv = {
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
};

/**
 * Parses `INSTRUMENT_ROOTS` (`ms1=/mnt/ms1,ms2=/mnt/ms2`): where this host sees each
 * instrument's folder. Throws with the offending item.
 */
export function parseInstrumentRoots(value: string): Record<string, string> {
  const roots: Record<string, string> = {};
  for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const path = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name) || !path.startsWith('/')) throw new Error(`"${entry}" is not name=/absolute/path`);
    if (name in roots) throw new Error(`instrument ${name} is listed twice`);
    roots[name] = path;
  }
  return roots;
}

/** `INSTRUMENT_ROOTS` for services that read instrument files (uploader, job workers). */
export const instrumentRootsEnv = {
  INSTRUMENT_ROOTS: z
    .string()
    .transform((v, ctx) => {
      try {
        return parseInstrumentRoots(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    })
    .default({}),
};

/** Redis connection settings. */
export const redisEnv = {
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
};

function safeHostname(): string {
  return hostname().replace(/[^A-Za-z0-9_-]/g, '-') || 'local';
}

const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL|AUTH)/i;

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !/_ID$/.test(name);
}

/**
 * A copy of a parsed config fit for logging: secret-looking fields are masked and
 * passwords inside URLs are removed.
 */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (isSecretName(key)) out[key] = '[redacted]';
    else if (typeof value === 'string' && /^[a-z]+:\/\/[^/]*:[^/]*@/i.test(value)) out[key] = value.replace(/:\/\/([^:/]*):[^@]*@/, '://$1:[redacted]@');
    else out[key] = value;
  }
  return out;
}
