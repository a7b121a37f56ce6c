import { commonEnv, ConfigError, databaseEnv, envBoolean, envDuration, natsEnv, parseConfig, zoneEnv, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';

const gatewayEnv = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  ...zoneEnv,
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /**
   * Express's `trust proxy`: `false` (default: the client address is the socket's),
   * `true`, a number of hops, or addresses/subnets of the proxies, comma-separated. Only
   * set it behind a proxy: sign-in limits and statistics go by this address.
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .default('false')
    .transform((v): boolean | number | string => (/^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : /^\d+$/.test(v) ? Number(v) : v)),
  /** Marks the session cookie Secure even on plain http (behind a TLS-terminating proxy). */
  FERRY_COOKIE_SECURE: envBoolean.default(false),
  /** How long a web page sign-in lasts. */
  SESSION_TTL: envDuration.pipe(z.number().min(60_000, 'must be at least 1m')).default(12 * 3_600_000),
  /** Failed sign-ins allowed per client address and window. */
  SIGNIN_RATE_LIMIT: z.coerce.number().int().min(1).default(10),
  SIGNIN_RATE_WINDOW: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(60_000),
  /** When set, `/metrics` needs `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** How often request statistics are added to the database. */
  REQUEST_STATS_FLUSH: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(60_000),
  /** How often the live feed polls for changed files and alerts. */
  EVENTS_POLL_INTERVAL: envDuration.pipe(z.number().min(100, 'must be at least 100ms')).default(1000),
  EVENTS_HEARTBEAT: envDuration.pipe(z.number().min(1000, 'must be at least 1s')).default(15_000),
  EVENTS_MAX_CLIENTS: z.coerce.number().int().min(1).default(500),
  /** The built web page; default services/gateway/web/dist beside the code. */
  WEB_DIR: z.string().min(1).optional(),
});

/** The gateway's settings, parsed from the environment, with the zone it serves content from. */
export type GatewayConfig = z.infer<typeof gatewayEnv> & { zone: ZoneConfig };

/**
 * Parses the gateway's environment once, at start; throws a {@link ConfigError} naming
 * every bad setting, including a zone that lacks its bucket or folder.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const parsed = parseConfig('gateway', gatewayEnv, env);
  const zone = zoneFromEnv(parsed);
  if (typeof zone === 'string') throw new ConfigError('gateway', [zone]);
  return { ...parsed, zone };
}
