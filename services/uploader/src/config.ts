import { commonEnv, ConfigError, envDuration, instrumentRootsEnv, natsEnv, parseConfig, subjectToken, zoneEnv, zoneFromEnv, type ZoneConfig } from '@ferry/common';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseBytesPerSecond } from './domain/units.js';
import { resolveZonesFile, type ZoneSettings, type ZonesSetup } from './domain/zones-file.js';

const MiB = 1024 * 1024;

const bandwidthEnv = z.string().transform((v, ctx) => {
  try {
    return parseBytesPerSecond(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

const schema = z.object({
  ...commonEnv,
  ...natsEnv,
  ...zoneEnv,
  /** A YAML file listing every zone and which instrument goes where; without it, the one `ZONE_*` zone. */
  ZONES_FILE: z.string().optional(),
  /** Files uploaded at once by this instance. */
  UPLOAD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** Multipart part size in MiB (S3 needs at least 5); files up to one part go in one request. */
  UPLOAD_PART_SIZE_MB: z.coerce.number().int().min(5).max(5120).default(16),
  /** Parts in flight per file; memory is about part size × (this + 1). */
  UPLOAD_QUEUE_SIZE: z.coerce.number().int().min(1).max(64).default(4),
  /** Tries per file before `upload.failed` is final. */
  UPLOAD_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  /** Per-zone limit of files at once (zones file: `concurrency`); unset: UPLOAD_CONCURRENCY. */
  UPLOAD_ZONE_CONCURRENCY: z.coerce.number().int().min(1).max(64).optional(),
  /** Bytes per second per zone (zones file: `bandwidth`), e.g. `50MB/s`; unset: no limit. */
  UPLOAD_BANDWIDTH: bandwidthEnv.optional(),
  /** Per-part checksums of the `ZONE_*` zone (zones file: `checksums`). */
  UPLOAD_CHECKSUMS: z.enum(['sha256', 'none']).default('none'),
  /** Multipart uploads untouched for longer than this are aborted by the sweeper. */
  UPLOAD_ORPHAN_AGE: envDuration.default(7 * 86_400_000),
  /** How often the sweeper looks for orphaned multipart uploads; 0 turns it off. */
  UPLOAD_SWEEP_INTERVAL: envDuration.default(3_600_000),
  /** How long NATS waits for a sign of life before handing a file to another uploader. */
  UPLOAD_ACK_WAIT: envDuration.default(60_000),
  /** A request that sends or receives nothing for this long is abandoned and retried. */
  UPLOAD_REQUEST_TIMEOUT: envDuration.default(120_000),
  /** Where this host sees each instrument's folder: `ms1=/mnt/ms1,ms2=/mnt/ms2`. Unset: the watcher's path. */
  ...instrumentRootsEnv,
  UPLOAD_DURABLE: subjectToken.default('uploader'),
});

export type UploaderConfig = z.infer<typeof schema> &
  ZonesSetup & {
    /** The default zone (kept for callers that know one zone). */
    zone: ZoneConfig;
    partSizeBytes: number;
  };

type Env = Record<string, string | undefined>;

/** Reads the uploader's settings (and `ZONES_FILE` when set); throws a ConfigError naming each bad one. */
export function loadConfig(env: Env = process.env): UploaderConfig {
  const config = parseConfig('uploader', schema, env);
  const setup = config.ZONES_FILE ? readZonesFile(config.ZONES_FILE, env) : zonesFromEnv(config);
  const defaults = { concurrency: config.UPLOAD_ZONE_CONCURRENCY, bandwidth: config.UPLOAD_BANDWIDTH };
  const zones: ZoneSettings[] = setup.zones.map((z) => ({
    zone: hideSecret(z.zone),
    checksums: z.checksums,
    concurrency: z.concurrency ?? defaults.concurrency,
    bandwidth: z.bandwidth ?? defaults.bandwidth,
  }));
  const defaultZone = zones.find((z) => z.zone.name === setup.defaultZone)?.zone;
  if (!defaultZone) throw new ConfigError('uploader', [`default zone ${setup.defaultZone} is not configured`]);
  return { ...config, ...setup, zones, zone: defaultZone, partSizeBytes: config.UPLOAD_PART_SIZE_MB * MiB };
}

function zonesFromEnv(config: z.infer<typeof schema>): ZonesSetup {
  const zone = zoneFromEnv(config);
  if (typeof zone === 'string') throw new ConfigError('uploader', [zone]);
  return {
    zones: [{ zone, checksums: zone.kind === 's3' ? config.UPLOAD_CHECKSUMS : 'none', concurrency: undefined, bandwidth: undefined }],
    defaultZone: zone.name,
    instruments: {},
  };
}

function readZonesFile(path: string, env: Env): ZonesSetup {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('uploader', [`ZONES_FILE: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('uploader', [`${path}: not valid YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`]);
  }
  const result = resolveZonesFile(doc, env, path);
  if (Array.isArray(result)) throw new ConfigError('uploader', result);
  return result;
}

/**
 * The service logs its parsed config at start; a zone's secret key stays usable but is
 * left out of every serialisation (logs, heartbeats) by making it non-enumerable.
 */
function hideSecret(zone: ZoneConfig): ZoneConfig {
  if (zone.kind !== 's3' || zone.secretAccessKey === undefined) return zone;
  const { secretAccessKey, ...rest } = zone;
  const hidden: ZoneConfig = { ...rest };
  Object.defineProperty(hidden, 'secretAccessKey', { value: secretAccessKey, enumerable: false });
  return hidden;
}
