import { commonEnv, ConfigError, databaseEnv, envDuration, natsEnv, parseConfig, zoneEnv, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { alertSettingsSchema, type AlertSettings } from './domain/settings.js';
import type { Receiver } from './notifiers/index.js';

const httpUrl = z.string().refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be a URL starting with http:// or https://');

const redisUrl = z.string().refine((v) => {
  try {
    return ['redis:', 'rediss:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be a URL starting with redis:// or rediss://');

/** Environment variables that override one alerting setting each (after the rules file). */
export const ALERT_ENV: Record<string, { path: string[]; number?: boolean }> = {
  ALERT_EVALUATION_INTERVAL: { path: ['evaluationInterval'] },
  ALERT_GROUP_WAIT: { path: ['grouping', 'wait'] },
  ALERT_GROUP_INTERVAL: { path: ['grouping', 'interval'] },
  ALERT_REPEAT_INTERVAL: { path: ['grouping', 'repeat'] },
  ALERT_HEARTBEAT_AFTER: { path: ['heartbeat', 'after'] },
  ALERT_DISK_FLOOR: { path: ['disk', 'floor'] },
  ALERT_DISK_FORECAST_HORIZON: { path: ['disk', 'forecast', 'horizon'] },
  ALERT_FILES_MAX_COUNT: { path: ['files', 'maxCount'], number: true },
  ALERT_BACKUP_MAX_AGE: { path: ['backup', 'maxAge'] },
  ALERT_PROBE_FOR: { path: ['dependencies', 'for'] },
  ALERT_NOTIFY_MAX_AGE: { path: ['notify', 'maxAge'] },
};

const optionalZoneEnv = Object.fromEntries(Object.entries(zoneEnv).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof zoneEnv]: z.ZodOptional<(typeof zoneEnv)[K]> };

const schema = z.object({
  ...commonEnv,
  ...natsEnv,
  ...databaseEnv,
  HEARTBEAT_INTERVAL: envDuration.default(30_000),
  /** Events projected at once per stream. */
  PROJECTION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Ferry's web address; messages link to `<FERRY_PUBLIC_URL>/alerts`. */
  FERRY_PUBLIC_URL: httpUrl.default('http://localhost:8080'),
  SLACK_WEBHOOK_URL: httpUrl.optional(),
  TEAMS_WEBHOOK_URL: httpUrl.optional(),
  ALERT_WEBHOOK_URL: httpUrl.optional(),
  /** Probed with PING when set. */
  REDIS_URL: redisUrl.optional(),
  MONITOR_RULES_FILE: z.string().optional(),
  ...Object.fromEntries(Object.keys(ALERT_ENV).map((k) => [k, z.string().optional()])),
  ...optionalZoneEnv,
});

type Env = z.infer<typeof schema>;

/**
 * The monitor's settings: the environment, plus alerting settings, receivers and the
 * zone to probe. Webhook URLs carry their secret in the path, so `receivers` and `zone`
 * are not enumerable: the config logged at start names the receivers, never their URLs.
 */
export type MonitorConfig = Omit<Env, 'SLACK_WEBHOOK_URL' | 'TEAMS_WEBHOOK_URL' | 'ALERT_WEBHOOK_URL'> & {
  alerting: AlertSettings;
  /** Names of the configured receivers, for the start-up log. */
  notifiers: string[];
  readonly receivers: Receiver[];
  /** The zone configured through `ZONE_*`, probed with credentials; undefined when none is. */
  readonly zone: ZoneConfig | undefined;
};

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] ?? ''] = value;
}

/**
 * Alerting settings: defaults, then the YAML file, then `ALERT_*` variables. Problems
 * name the variable or the file and key.
 */
export function loadAlertSettings(env: Record<string, string | undefined>): AlertSettings {
  const file = env.MONITOR_RULES_FILE;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('monitor', [`MONITOR_RULES_FILE: cannot read ${file} (${err instanceof Error ? err.message : String(err)})`]);
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (err) {
      throw new ConfigError('monitor', [`MONITOR_RULES_FILE: ${file} is not valid YAML (${err instanceof Error ? err.message : String(err)})`]);
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) {
      throw new ConfigError('monitor', [`MONITOR_RULES_FILE: ${file} must hold a mapping of settings`]);
    }
    raw = (parsed as Record<string, unknown> | null) ?? {};
  }
  const fromEnv = new Map<string, string>();
  for (const [name, { path, number }] of Object.entries(ALERT_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(raw, path, number ? Number(value) : value);
    fromEnv.set(path.join('.'), name);
  }
  const result = alertSettingsSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(
    'monitor',
    result.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.');
      const variable = fromEnv.get(key);
      return variable ? `${variable}: ${issue.message} (got "${env[variable]}")` : `MONITOR_RULES_FILE ${file ?? '(defaults)'}: ${key || '(root)'}: ${issue.message}`;
    }),
  );
}

/** Reads the monitor's settings; throws a ConfigError naming each bad one. */
export function loadConfig(env: Record<string, string | undefined> = process.env): MonitorConfig {
  const parsed = parseConfig('monitor', schema, env);
  const receivers: Receiver[] = [];
  if (parsed.SLACK_WEBHOOK_URL) receivers.push({ name: 'slack', kind: 'slack', url: parsed.SLACK_WEBHOOK_URL });
  if (parsed.TEAMS_WEBHOOK_URL) receivers.push({ name: 'teams', kind: 'teams', url: parsed.TEAMS_WEBHOOK_URL });
  if (parsed.ALERT_WEBHOOK_URL) receivers.push({ name: 'webhook', kind: 'webhook', url: parsed.ALERT_WEBHOOK_URL });
  // A zone is probed only when one is configured for the monitor (ZONE_BUCKET or ZONE_DIR).
  let zone: ZoneConfig | undefined;
  if (parsed.ZONE_BUCKET || parsed.ZONE_DIR) {
    const z = zoneFromEnv({
      ZONE_NAME: parsed.ZONE_NAME ?? 'default',
      ZONE_KIND: parsed.ZONE_KIND ?? (parsed.ZONE_DIR && !parsed.ZONE_BUCKET ? 'local' : 's3'),
      ZONE_ENDPOINT: parsed.ZONE_ENDPOINT,
      ZONE_REGION: parsed.ZONE_REGION ?? 'us-east-1',
      ZONE_BUCKET: parsed.ZONE_BUCKET,
      ZONE_PREFIX: parsed.ZONE_PREFIX ?? '',
      ZONE_PATH_STYLE: parsed.ZONE_PATH_STYLE ?? false,
      ZONE_DIR: parsed.ZONE_DIR,
      ZONE_ACCESS_KEY_ID: parsed.ZONE_ACCESS_KEY_ID,
      ZONE_SECRET_ACCESS_KEY: parsed.ZONE_SECRET_ACCESS_KEY,
    });
    if (typeof z === 'string') throw new ConfigError('monitor', [z]);
    zone = z;
  }
  const { SLACK_WEBHOOK_URL: _s, TEAMS_WEBHOOK_URL: _t, ALERT_WEBHOOK_URL: _w, ...rest } = parsed;
  const config = { ...rest, alerting: loadAlertSettings(env), notifiers: receivers.map((r) => r.name) };
  Object.defineProperty(config, 'receivers', { value: receivers, enumerable: false });
  Object.defineProperty(config, 'zone', { value: zone, enumerable: false });
  return config as MonitorConfig;
}
