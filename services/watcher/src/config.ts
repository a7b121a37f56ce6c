import { commonEnv, envBoolean, envDuration, natsEnv, parseConfig } from '@ferry/common/config';
import { ConfigError } from '@ferry/common/errors';
import { subjectToken } from '@ferry/common/events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULTS, parseWatchFile } from './config-file.js';
import { DEFAULT_IGNORE } from './domain/filters.js';
import { BUILTIN_RULES, type Rule } from './domain/rules.js';

/** Everything the watcher needs to know about one instrument. */
export interface InstrumentConfig {
  /** Part of every subject: letters, digits, - and _ only. */
  name: string;
  /** The folder the instrument writes to (absolute): a local disk or a mounted share. */
  folder: string;
  /** The zone the uploader should store this instrument's files in (its default when unset). */
  zone: string | undefined;
  /** Globs of acquisitions to announce (all when empty); a glob without `/` matches names. */
  include: string[];
  exclude: string[];
  /** Names (globs on one segment) never looked at: hidden and temporary files. */
  ignore: string[];
  /** How long size and mtime must stay unchanged before an acquisition counts as complete. */
  stableMs: number;
  /** `auto` polls on network file systems (statfs type), native events elsewhere. */
  poll: 'auto' | boolean;
  pollIntervalMs: number;
  /** A full walk of the folder that catches anything events or polling missed. */
  rescanMs: number;
  /** Files of 1 MiB or more hashed at once (network reads compete with the instrument); smaller ones have a limit of 16. */
  hashConcurrency: number;
  retryUnreadableMs: number;
  rules: Rule[];
  /** The inventory journal. */
  stateFile: string;
}

const list = z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean));
const pollSetting = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.union([z.literal('auto'), envBoolean], { error: 'must be auto, true or false' }));

const base = {
  ...commonEnv,
  ...natsEnv,
  HEARTBEAT_INTERVAL: envDuration.optional(),
};

/** The shorthand for one instrument, kept for local mode and the Compose file. */
const shorthand = z.object({
  ...base,
  INSTRUMENT: subjectToken,
  WATCH_DIR: z.string().min(1),
  WATCH_STABLE: envDuration.default(DEFAULTS.stableMs),
  WATCH_POLL: pollSetting.default(DEFAULTS.poll),
  WATCH_POLL_INTERVAL: envDuration.refine((v) => v >= 50, 'must be at least 50ms').default(DEFAULTS.pollIntervalMs),
  WATCH_RESCAN: envDuration.refine((v) => v >= 1000, 'must be at least 1s').default(DEFAULTS.rescanMs),
  WATCH_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(DEFAULTS.hashConcurrency),
  WATCH_RETRY_UNREADABLE: envDuration.default(DEFAULTS.retryUnreadableMs),
  WATCH_STATE_FILE: z.string().optional(),
  WATCH_ZONE: subjectToken.optional(),
  WATCH_INCLUDE: list.optional(),
  WATCH_EXCLUDE: list.optional(),
  WATCH_IGNORE: list.optional(),
  /** `all` (default), `none`, or built-in rule names, comma-separated. */
  WATCH_RULES: z
    .string()
    .trim()
    .refine((v) => v === 'all' || v === 'none' || v.split(',').every((n) => BUILTIN_RULES.some((r) => r.name === n.trim())), `must be all, none, or some of ${BUILTIN_RULES.map((r) => r.name).join(', ')}`)
    .default('all'),
});

const withFile = z.object({ ...base, WATCH_CONFIG: z.string().min(1) });

const SHORTHAND_ONLY = Object.keys(shorthand.shape).filter((k) => !(k in base));

/** The settings every service shares (logging, tracing, metrics, NATS), as parsed. */
type SharedSettings = z.infer<z.ZodObject<typeof base>>;

/** The watcher's settings: the shared ones and one entry per instrument. */
export type WatcherConfig = Omit<SharedSettings, 'HEARTBEAT_INTERVAL'> & {
  HEARTBEAT_INTERVAL: number;
  /** The YAML file the instruments came from, if any. */
  WATCH_CONFIG: string | undefined;
  instruments: InstrumentConfig[];
  /** Instrument variables that were set but ignored because WATCH_CONFIG was. */
  ignoredEnv: string[];
};

/**
 * Reads the watcher's settings: the instruments from the YAML file in `WATCH_CONFIG`, or
 * one instrument from `INSTRUMENT`, `WATCH_DIR` and the other `WATCH_*` variables. Throws
 * a ConfigError naming each bad variable, or the file and field.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): WatcherConfig {
  if (env.WATCH_CONFIG) {
    const c = parseConfig('watcher', withFile, env);
    const file = resolve(c.WATCH_CONFIG);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError('watcher', [`WATCH_CONFIG: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
    }
    const parsed = parseWatchFile(text, file);
    return {
      ...c,
      HEARTBEAT_INTERVAL: parsed.heartbeatIntervalMs ?? c.HEARTBEAT_INTERVAL ?? 30_000,
      WATCH_CONFIG: file,
      instruments: parsed.instruments,
      ignoredEnv: SHORTHAND_ONLY.filter((k) => env[k] !== undefined && env[k] !== ''),
    };
  }
  const c = parseConfig('watcher', shorthand, env);
  // Everything but the instrument's own variables passes through, so a shared setting
  // (METRICS_PORT, a NATS option) is never lost on the way to runService and connectBus.
  const shared = Object.fromEntries(Object.entries(c).filter(([k]) => k in base)) as SharedSettings;
  const rules = c.WATCH_RULES === 'all' ? [...BUILTIN_RULES] : c.WATCH_RULES === 'none' ? [] : c.WATCH_RULES.split(',').map((n) => BUILTIN_RULES.find((r) => r.name === n.trim())!);
  const instrument: InstrumentConfig = {
    name: c.INSTRUMENT,
    folder: resolve(c.WATCH_DIR),
    zone: c.WATCH_ZONE,
    include: c.WATCH_INCLUDE ?? [],
    exclude: c.WATCH_EXCLUDE ?? [],
    ignore: [...DEFAULT_IGNORE, ...(c.WATCH_IGNORE ?? [])],
    stableMs: c.WATCH_STABLE,
    poll: c.WATCH_POLL,
    pollIntervalMs: c.WATCH_POLL_INTERVAL,
    rescanMs: c.WATCH_RESCAN,
    hashConcurrency: c.WATCH_HASH_CONCURRENCY,
    retryUnreadableMs: c.WATCH_RETRY_UNREADABLE,
    rules,
    stateFile: resolve(c.WATCH_STATE_FILE ?? `.ferry/watcher-${c.INSTRUMENT}.json`),
  };
  return {
    ...shared,
    HEARTBEAT_INTERVAL: c.HEARTBEAT_INTERVAL ?? 30_000,
    WATCH_CONFIG: undefined,
    instruments: [instrument],
    ignoredEnv: [],
  };
}
