import { subjectToken, type ZoneConfig } from '@ferry/common';
import { z } from 'zod';
import { parseBytesPerSecond } from './units.js';

/** How a zone is written to, beyond where it is. */
export interface ZoneSettings {
  zone: ZoneConfig;
  /**
   * `sha256`: every part carries `x-amz-checksum-sha256` and the store checks it (AWS S3,
   * R2, recent MinIO). `none`: only Ferry's own hash and the signed payload hash.
   */
  checksums: 'sha256' | 'none';
  /** Files uploaded at once into this zone by one uploader; unset: no limit beyond UPLOAD_CONCURRENCY. */
  concurrency: number | undefined;
  /** Bytes per second sent into this zone by one uploader; unset: no limit. */
  bandwidth: number | undefined;
}

/** Every zone an uploader serves and which instrument goes where. */
export interface ZonesSetup {
  zones: ZoneSettings[];
  /** The zone of instruments that are not listed and whose events name none. */
  defaultZone: string;
  /** Instrument → zone name. */
  instruments: Record<string, string>;
}

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable');
const rate = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseBytesPerSecond(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});
const limits = {
  concurrency: z.number().int().min(1).max(64).optional(),
  bandwidth: rate.optional(),
};

const s3Entry = z.strictObject({
  kind: z.literal('s3').default('s3'),
  endpoint: z.url().optional(),
  region: z.string().min(1).default('us-east-1'),
  bucket: z.string().min(3, 'must name a bucket'),
  prefix: z.string().default(''),
  pathStyle: z.boolean().default(false),
  accessKeyIdEnv: envName.optional(),
  secretAccessKeyEnv: envName.optional(),
  checksums: z.enum(['sha256', 'none']).default('none'),
  ...limits,
});

const localEntry = z.strictObject({
  kind: z.literal('local'),
  dir: z.string().min(1, 'must name a folder'),
  prefix: z.string().default(''),
  ...limits,
});

const fileSchema = z.strictObject({
  default: subjectToken.default('default'),
  zones: z.record(subjectToken, z.discriminatedUnion('kind', [s3Entry, localEntry])).refine((zones) => Object.keys(zones).length > 0, 'must list at least one zone'),
  instruments: z.record(subjectToken, subjectToken).default({}),
});

/** Keys that would put a secret into the file; credentials come from the environment only. */
const SECRET_KEYS = /^(accessKeyId|secretAccessKey|sessionToken|secret|password|credentials|key|token)$/i;

/**
 * Reads a parsed zones file (`ZONES_FILE`, YAML): validates it, refuses literal secrets,
 * and takes each zone's credentials from the environment variables it names (or leaves
 * them to the AWS default chain). Returns the problems, each naming the file and field.
 */
export function resolveZonesFile(doc: unknown, env: Record<string, string | undefined>, source: string): ZonesSetup | string[] {
  const where = (path: readonly PropertyKey[]) => `${source}: ${path.map(String).join('.') || '(top level)'}`;
  const problems: string[] = [];
  const rawZones = isRecord(doc) && isRecord(doc.zones) ? doc.zones : {};
  for (const [name, entry] of Object.entries(rawZones)) {
    if (!isRecord(entry)) continue;
    for (const key of Object.keys(entry)) {
      if (SECRET_KEYS.test(key)) {
        problems.push(`${where(['zones', name, key])}: secrets are never read from the zones file; put the value in an environment variable and name it with accessKeyIdEnv / secretAccessKeyEnv`);
      }
    }
  }
  if (problems.length) return problems;
  const parsed = fileSchema.safeParse(doc ?? {});
  if (!parsed.success) return parsed.error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`);
  const file = parsed.data;
  const zones: ZoneSettings[] = [];
  for (const [name, entry] of Object.entries(file.zones)) {
    if (entry.kind === 'local') {
      zones.push({ zone: { name, kind: 'local', dir: entry.dir, prefix: entry.prefix }, checksums: 'none', concurrency: entry.concurrency, bandwidth: entry.bandwidth });
      continue;
    }
    let accessKeyId: string | undefined;
    let secretAccessKey: string | undefined;
    if (Boolean(entry.accessKeyIdEnv) !== Boolean(entry.secretAccessKeyEnv)) {
      problems.push(`${where(['zones', name])}: accessKeyIdEnv and secretAccessKeyEnv go together (set both, or neither for the AWS default chain)`);
    } else if (entry.accessKeyIdEnv && entry.secretAccessKeyEnv) {
      accessKeyId = env[entry.accessKeyIdEnv];
      secretAccessKey = env[entry.secretAccessKeyEnv];
      if (!accessKeyId) problems.push(`${where(['zones', name, 'accessKeyIdEnv'])}: environment variable ${entry.accessKeyIdEnv} is not set`);
      if (!secretAccessKey) problems.push(`${where(['zones', name, 'secretAccessKeyEnv'])}: environment variable ${entry.secretAccessKeyEnv} is not set`);
    }
    zones.push({
      zone: {
        name,
        kind: 's3',
        endpoint: entry.endpoint,
        region: entry.region,
        bucket: entry.bucket,
        prefix: entry.prefix,
        forcePathStyle: entry.pathStyle,
        accessKeyId,
        secretAccessKey,
      },
      checksums: entry.checksums,
      concurrency: entry.concurrency,
      bandwidth: entry.bandwidth,
    });
  }
  if (!(file.default in file.zones)) problems.push(`${where(['default'])}: zone ${file.default} is not listed under zones`);
  for (const [instrument, zone] of Object.entries(file.instruments)) {
    if (!(zone in file.zones)) problems.push(`${where(['instruments', instrument])}: zone ${zone} is not listed under zones`);
  }
  if (problems.length) return problems;
  return { zones, defaultZone: file.default, instruments: file.instruments };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
