import { GetObjectCommand, HeadObjectCommand, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { envBoolean } from './config.js';
import { PermanentError } from './errors.js';
import { subjectToken } from './events.js';

const s3ZoneSchema = z.object({
  name: subjectToken,
  kind: z.literal('s3'),
  /** Unset for AWS itself; the URL of MinIO, R2 or another S3-compatible store otherwise. */
  endpoint: z.url().optional(),
  region: z.string().default('us-east-1'),
  bucket: z.string().min(3, 'must name a bucket'),
  prefix: z.string().default(''),
  forcePathStyle: z.boolean().default(false),
  /** Read from the environment only; never from files in the repository. */
  accessKeyId: z.string().optional(),
  secretAccessKey: z.string().optional(),
});

const localZoneSchema = z.object({
  name: subjectToken,
  kind: z.literal('local'),
  /** A folder, such as a mounted backup pool, that receives the content-addressed layout. */
  dir: z.string().min(1, 'must name a folder'),
  prefix: z.string().default(''),
});

/** Where content goes: an S3-compatible bucket or a local folder. */
export const zoneSchema = z.discriminatedUnion('kind', [s3ZoneSchema, localZoneSchema]);
export type ZoneConfig = z.infer<typeof zoneSchema>;
export type S3ZoneConfig = z.infer<typeof s3ZoneSchema>;
export type LocalZoneConfig = z.infer<typeof localZoneSchema>;

/** Environment settings of the default zone (`ZONE_*`), shared by the uploader and the gateway. */
export const zoneEnv = {
  ZONE_NAME: subjectToken.default('default'),
  ZONE_KIND: z.enum(['s3', 'local']).default('s3'),
  ZONE_ENDPOINT: z.url().optional(),
  ZONE_REGION: z.string().default('us-east-1'),
  ZONE_BUCKET: z.string().optional(),
  ZONE_PREFIX: z.string().default(''),
  ZONE_PATH_STYLE: envBoolean.default(false),
  ZONE_DIR: z.string().optional(),
  ZONE_ACCESS_KEY_ID: z.string().optional(),
  ZONE_SECRET_ACCESS_KEY: z.string().optional(),
};

type ZoneEnv = z.infer<z.ZodObject<typeof zoneEnv>>;

/** Builds the zone from `ZONE_*` settings; returns the problem as text when one is missing. */
export function zoneFromEnv(env: ZoneEnv): ZoneConfig | string {
  if (env.ZONE_KIND === 'local') {
    if (!env.ZONE_DIR) return 'ZONE_DIR: required when ZONE_KIND=local (not set)';
    return { name: env.ZONE_NAME, kind: 'local', dir: env.ZONE_DIR, prefix: env.ZONE_PREFIX };
  }
  if (!env.ZONE_BUCKET) return 'ZONE_BUCKET: required when ZONE_KIND=s3 (not set)';
  return {
    name: env.ZONE_NAME,
    kind: 's3',
    endpoint: env.ZONE_ENDPOINT,
    region: env.ZONE_REGION,
    bucket: env.ZONE_BUCKET,
    prefix: env.ZONE_PREFIX,
    forcePathStyle: env.ZONE_PATH_STYLE,
    accessKeyId: env.ZONE_ACCESS_KEY_ID,
    secretAccessKey: env.ZONE_SECRET_ACCESS_KEY,
  };
}

/**
 * An S3 client for a zone. Checksums are computed only when an operation requires
 * them: several S3-compatible stores mishandle the SDK's default trailing checksums
 * on streamed bodies, and Ferry verifies content with its own SHA-256 anyway.
 */
export function createS3Client(zone: S3ZoneConfig, options: { requestTimeoutMs?: number } = {}): S3Client {
  return new S3Client({
    region: zone.region,
    endpoint: zone.endpoint,
    forcePathStyle: zone.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // Socket timeouts turn a stalled connection into a retry instead of a hang.
    ...(options.requestTimeoutMs ? { requestHandler: { requestTimeout: options.requestTimeoutMs, connectionTimeout: 10_000 } } : {}),
    ...(zone.accessKeyId && zone.secretAccessKey
      ? { credentials: { accessKeyId: zone.accessKeyId, secretAccessKey: zone.secretAccessKey } }
      : {}),
  });
}

/** What a zone knows of a stored object. */
export interface StoredObject {
  size: number;
  /** The SHA-256 recorded in the object's metadata when it was stored. */
  sha256: string | undefined;
}

/** Metadata keys Ferry writes on every object. */
export const META = { sha256: 'ferry-sha256', size: 'ferry-size', instrument: 'ferry-instrument', path: 'ferry-path' } as const;

/** The read side of a zone: enough for the gateway to serve bytes and the uploader to skip known content. */
export interface ZoneReader {
  readonly zone: ZoneConfig;
  head(key: string): Promise<StoredObject | undefined>;
  read(key: string): Promise<Readable>;
}

/** Path of a key in a local zone. */
export function localZonePath(zone: LocalZoneConfig, key: string): string {
  return join(zone.dir, key);
}

/** Opens the read side of a zone. */
export function openZoneReader(zone: ZoneConfig, client?: S3Client): ZoneReader {
  if (zone.kind === 'local') {
    return {
      zone,
      async head(key) {
        const info = await stat(localZonePath(zone, key)).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return undefined;
          throw err;
        });
        if (!info) return undefined;
        const meta = await readFile(`${localZonePath(zone, key)}.meta.json`, 'utf8')
          .then((t) => JSON.parse(t) as Record<string, string>)
          .catch((): Record<string, string> => ({}));
        return { size: info.size, sha256: meta[META.sha256] };
      },
      read: (key) => Promise.resolve(createReadStream(localZonePath(zone, key), { highWaterMark: 1 << 20 })),
    };
  }
  const s3 = client ?? createS3Client(zone);
  return {
    zone,
    async head(key) {
      try {
        const out = await s3.send(new HeadObjectCommand({ Bucket: zone.bucket, Key: key }));
        return { size: out.ContentLength ?? 0, sha256: out.Metadata?.[META.sha256] };
      } catch (err) {
        if (err instanceof NotFound || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) return undefined;
        throw classifyS3Error(err);
      }
    },
    async read(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: zone.bucket, Key: key }));
        return out.Body as Readable;
      } catch (err) {
        throw classifyS3Error(err);
      }
    },
  };
}

/**
 * Marks S3 errors that retrying cannot fix (denied access, bad credentials, missing
 * bucket) as {@link PermanentError}, with a reason a person can act on.
 */
export function classifyS3Error(err: unknown): unknown {
  if (!(err instanceof S3ServiceException)) return err;
  const status = err.$metadata.httpStatusCode ?? 0;
  const code = err.name;
  if (code === 'NoSuchBucket') return new PermanentError(`bucket does not exist (${err.message})`, { cause: err });
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken'].includes(code) || status === 403 || status === 401) {
    return new PermanentError(`access denied by the store: ${code}${err.message ? ` (${err.message})` : ''}; check the zone's credentials`, { cause: err });
  }
  if (status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429) {
    return new PermanentError(`store refused the request: ${code} (${status})`, { cause: err });
  }
  return err;
}
