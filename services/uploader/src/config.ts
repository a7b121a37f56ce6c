import { commonEnv, ConfigError, instrumentRootsEnv, natsEnv, parseConfig, subjectToken, zoneEnv, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';

const MiB = 1024 * 1024;

const schema = z.object({
  ...commonEnv,
  ...natsEnv,
  ...zoneEnv,
  /** Files uploaded at once by this instance. */
  UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Multipart part size in MiB (S3 needs at least 5); files up to one part go in one request. */
  UPLOAD_PART_SIZE_MB: z.coerce.number().int().min(5).max(5120).default(16),
  /** Parts in flight per file; memory is about part size × this. */
  UPLOAD_QUEUE_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Tries per file before `upload.failed` is final. */
  UPLOAD_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  /** Where this host sees each instrument's folder: `ms1=/mnt/ms1,ms2=/mnt/ms2`. Unset: the watcher's path. */
  ...instrumentRootsEnv,
  UPLOAD_DURABLE: subjectToken.default('uploader'),
});

export type UploaderConfig = z.infer<typeof schema> & { zone: ZoneConfig; partSizeBytes: number };

/** Reads the uploader's settings; throws a ConfigError naming each bad one. */
export function loadConfig(env: Record<string, string | undefined> = process.env): UploaderConfig {
  const config = parseConfig('uploader', schema, env);
  const zone = zoneFromEnv(config);
  if (typeof zone === 'string') throw new ConfigError('uploader', [zone]);
  return { ...config, zone, partSizeBytes: config.UPLOAD_PART_SIZE_MB * MiB };
}
