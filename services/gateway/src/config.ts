import { commonEnv, ConfigError, databaseEnv, natsEnv, parseConfig, zoneEnv, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';

const gatewayEnv = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  ...zoneEnv,
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
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
