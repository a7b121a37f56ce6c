import { commonEnv, envBoolean, envDuration, natsEnv, parseConfig, subjectToken } from '@ferry/common';
import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z
  .object({
    ...commonEnv,
    ...natsEnv,
    /** The instrument's name: part of every subject, so letters, digits, - and _ only. */
    INSTRUMENT: subjectToken,
    /** The folder the instrument writes to (local disk or a mounted share). */
    WATCH_DIR: z.string().min(1),
    /** How long size and mtime must stay unchanged before a file counts as complete. */
    WATCH_STABLE: envDuration.default(10_000),
    /** Poll instead of native events; needed on SMB/CIFS and NFS mounts. */
    WATCH_POLL: envBoolean.default(false),
    WATCH_POLL_INTERVAL: envDuration.default(2000),
    /** A full walk of the folder that catches anything events missed. */
    WATCH_RESCAN: envDuration.default(300_000),
    /** Files hashed at once; network reads compete with the instrument. */
    WATCH_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(2),
    /** The checkpoint of announced files. */
    WATCH_STATE_FILE: z.string().optional(),
    /** The zone the uploader should store this instrument's files in (its default when unset). */
    WATCH_ZONE: subjectToken.optional(),
    HEARTBEAT_INTERVAL: envDuration.default(30_000),
  })
  .transform((c) => ({
    ...c,
    WATCH_DIR: resolve(c.WATCH_DIR),
    WATCH_STATE_FILE: resolve(c.WATCH_STATE_FILE ?? `.ferry/watcher-${c.INSTRUMENT}.json`),
  }));

export type WatcherConfig = z.infer<typeof schema>;

/** Reads the watcher's settings; throws a ConfigError naming each bad one. */
export function loadConfig(env: Record<string, string | undefined> = process.env): WatcherConfig {
  return parseConfig('watcher', schema, env);
}
