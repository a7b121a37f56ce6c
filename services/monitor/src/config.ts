import { commonEnv, databaseEnv, envDuration, natsEnv, parseConfig } from '@ferry/common';
import { z } from 'zod';

const schema = z.object({
  ...commonEnv,
  ...natsEnv,
  ...databaseEnv,
  HEARTBEAT_INTERVAL: envDuration.default(30_000),
});

export type MonitorConfig = z.infer<typeof schema>;

/** Reads the monitor's settings; throws a ConfigError naming each bad one. */
export function loadConfig(env: Record<string, string | undefined> = process.env): MonitorConfig {
  return parseConfig('monitor', schema, env);
}
