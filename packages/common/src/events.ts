import { createHash } from 'node:crypto';
import { z } from 'zod';

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/, 'must be 64 lowercase hex characters');
const isoTime = z.iso.datetime({ offset: true });
/** Subject tokens (instrument, pipeline, service) are restricted so they can never split a subject. */
export const subjectToken = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only (1 to 64)');

/** One member of a folder acquisition, as listed in its manifest. */
export const manifestEntrySchema = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
});
export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

export const fileDetectedSchema = z.object({
  fileId: z.string().min(1),
  instrument: subjectToken,
  /** Path relative to the instrument folder, with forward slashes. */
  path: z.string().min(1),
  /** The instrument folder as the watcher sees it; uploaders map it through their own config. */
  root: z.string().min(1),
  kind: z.enum(['file', 'folder']),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  mtime: isoTime,
  detectedAt: isoTime,
  zone: subjectToken.optional(),
  manifest: z.array(manifestEntrySchema).optional(),
  watcher: z.string(),
});

export const uploadDoneSchema = z.object({
  fileId: z.string().min(1),
  instrument: subjectToken,
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  zone: subjectToken,
  key: z.string().min(1),
  /** The instrument folder as the watcher saw it, for workers that read the original file. */
  root: z.string().min(1).optional(),
  /** True when the content was already stored and nothing was sent. */
  existed: z.boolean(),
  storedAt: isoTime,
  durationMs: z.number().nonnegative(),
  uploader: z.string(),
  /** The `command.retry` this upload answers, when it is an operator's retry. */
  retryOf: z.string().min(1).optional(),
});

export const uploadFailedSchema = z.object({
  fileId: z.string().min(1),
  instrument: subjectToken,
  path: z.string().min(1),
  sha256: sha256Hex,
  zone: subjectToken.optional(),
  error: z.string(),
  attempt: z.number().int().positive(),
  final: z.boolean(),
  failedAt: isoTime,
  uploader: z.string(),
  /** The `command.retry` this try answers, when it is an operator's retry. */
  retryOf: z.string().min(1).optional(),
});

export const uploadProgressSchema = z.object({
  fileId: z.string().min(1),
  instrument: subjectToken,
  bytes: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  at: isoTime,
});

const jobBase = z.object({
  jobId: z.string().min(1),
  fileId: z.string().min(1),
  pipeline: subjectToken,
  instrument: subjectToken,
  sha256: sha256Hex,
  attempt: z.number().int().positive(),
  at: isoTime,
  worker: z.string().optional(),
});
export const jobQueuedSchema = jobBase;
export const jobStartedSchema = jobBase;
export const jobDoneSchema = jobBase.extend({ exitCode: z.number().int(), durationMs: z.number().nonnegative() });
export const jobFailedSchema = jobBase.extend({
  exitCode: z.number().int().nullable(),
  error: z.string(),
  /** True when no retry is left. */
  final: z.boolean(),
});

/** No pipeline rule matched the stored file: its processing is complete with nothing to run. */
export const jobSkippedSchema = z.object({
  fileId: z.string().min(1),
  instrument: subjectToken,
  sha256: sha256Hex,
  reason: z.string(),
  at: isoTime,
});

export const backupCompletedSchema = z.object({
  backupId: z.string().min(1),
  database: z.string(),
  zone: subjectToken,
  key: z.string(),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  verified: z.boolean(),
  /** Row counts per table in the source and in the restored copy. */
  tables: z.record(z.string(), z.object({ source: z.number().int(), restored: z.number().int() })).default({}),
  startedAt: isoTime,
  finishedAt: isoTime,
  error: z.string().optional(),
});

export const heartbeatSchema = z.object({
  service: subjectToken,
  instance: subjectToken,
  version: z.string(),
  at: isoTime,
  intervalMs: z.number().int().positive(),
  startedAt: isoTime,
  disks: z
    .array(z.object({ path: z.string(), freeBytes: z.number().nonnegative(), totalBytes: z.number().nonnegative() }))
    .default([]),
  /** The zones an uploader serves, without credentials; the monitor keeps them in `zones`. */
  zones: z
    .array(
      z.object({
        name: subjectToken,
        kind: z.enum(['s3', 'local']),
        bucket: z.string().optional(),
        endpoint: z.string().optional(),
        region: z.string().optional(),
        prefix: z.string().default(''),
        dir: z.string().optional(),
      }),
    )
    .optional(),
  /** Service-specific figures: files pending, queue depths, last detection time. */
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).default({}),
});

/** One end-to-end check by the scheduler's canary: a generated file followed to `done`. */
export const canaryResultSchema = z.object({
  checkId: z.string().min(1),
  /** The canary instrument whose folder received the file. */
  instrument: subjectToken,
  /** The scheduler instance that ran the check. */
  instance: subjectToken,
  result: z.enum(['ok', 'late', 'failed']),
  /** From writing the file to its `done` (for `ok`), or to giving up. */
  latencyMs: z.number().int().nonnegative(),
  limitMs: z.number().int().positive(),
  /** When the next check is due; the monitor expects a result by then plus the limit. */
  intervalMs: z.number().int().positive(),
  sha256: sha256Hex,
  checkedAt: isoTime,
  /** Which step failed, or what was last seen when late. */
  detail: z.string().optional(),
});

const alertBase = z.object({
  fingerprint: z.string().min(1),
  rule: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  summary: z.string(),
  startsAt: isoTime,
});
export const alertFiringSchema = alertBase;
export const alertResolvedSchema = alertBase.extend({ endsAt: isoTime });

export const commandSchema = z.object({
  commandId: z.string().min(1),
  verb: subjectToken,
  by: z.string(),
  at: isoTime,
  args: z.record(z.string(), z.unknown()).default({}),
});

/**
 * The args of `command.retry` for a file whose upload failed for good (`step: "upload"`):
 * the file as it was detected, from its row, so an uploader can try again without the
 * watcher announcing it anew. Retries of processing jobs carry `{fileId, step, pipeline?}`.
 */
export const uploadRetryArgsSchema = z.object({
  fileId: z.string().min(1),
  step: z.literal('upload'),
  detected: fileDetectedSchema.omit({ watcher: true }),
});
export type UploadRetryArgs = z.infer<typeof uploadRetryArgsSchema>;

export const deadLetterSchema = z.object({
  stream: z.string(),
  consumer: z.string(),
  subject: z.string(),
  sequence: z.number().int().nonnegative(),
  deliveries: z.number().int().nonnegative(),
  reason: z.enum(['invalid', 'unknown-subject', 'permanent', 'retries-exhausted']),
  error: z.string(),
  /** The original payload as text (UTF-8) so it can be inspected and replayed. */
  data: z.string(),
  headers: z.record(z.string(), z.string()).default({}),
  at: isoTime,
});

/** The JetStream streams Ferry creates; names are prefixed per deployment. */
export const STREAMS = {
  FILES: { subjects: ['file.detected.>', 'upload.done.>', 'upload.failed.>'], maxAgeMs: 30 * 86_400_000 },
  JOBS: { subjects: ['job.>'], maxAgeMs: 30 * 86_400_000 },
  OPS: { subjects: ['backup.>', 'alert.>', 'command.>', 'canary.>'], maxAgeMs: 30 * 86_400_000 },
  HEARTBEATS: { subjects: ['heartbeat.>'], maxAgeMs: 3_600_000 },
  DLQ: { subjects: ['dlq.>'], maxAgeMs: 90 * 86_400_000 },
} as const;
export type StreamName = keyof typeof STREAMS;

interface EventDef<S extends z.ZodType> {
  /** `null` for core NATS subjects that are not stored. */
  stream: StreamName | null;
  /** Subject pattern (without prefix) matching every message of this event. */
  pattern: string;
  schema: S;
  subject: (event: z.infer<S>) => string;
  msgId: (event: z.infer<S>) => string;
}

const def = <S extends z.ZodType>(d: EventDef<S>) => d;

/**
 * The catalog: every event's subject, schema and message id. Publishing and consuming
 * both go through it, so a producer cannot send what a consumer cannot read.
 */
export const EVENTS = {
  'file.detected': def({
    stream: 'FILES',
    pattern: 'file.detected.*',
    schema: fileDetectedSchema,
    subject: (e) => `file.detected.${e.instrument}`,
    msgId: (e) => `file.detected:${e.fileId}`,
  }),
  'upload.done': def({
    stream: 'FILES',
    pattern: 'upload.done.*',
    schema: uploadDoneSchema,
    subject: (e) => `upload.done.${e.instrument}`,
    msgId: (e) => `upload.done:${e.fileId}:${e.zone}`,
  }),
  'upload.failed': def({
    stream: 'FILES',
    pattern: 'upload.failed.*',
    schema: uploadFailedSchema,
    subject: (e) => `upload.failed.${e.instrument}`,
    // A retry's tries count from 1 again: the command keeps their ids apart.
    msgId: (e) => `upload.failed:${e.fileId}:${e.attempt}${e.retryOf ? `:${e.retryOf}` : ''}`,
  }),
  'upload.progress': def({
    stream: null,
    pattern: 'upload.progress.*',
    schema: uploadProgressSchema,
    subject: (e) => `upload.progress.${e.instrument}`,
    msgId: (e) => `upload.progress:${e.fileId}:${e.bytes}`,
  }),
  'job.queued': def({
    stream: 'JOBS',
    pattern: 'job.queued.*',
    schema: jobQueuedSchema,
    subject: (e) => `job.queued.${e.pipeline}`,
    msgId: (e) => `job.queued:${e.jobId}:${e.attempt}`,
  }),
  'job.started': def({
    stream: 'JOBS',
    pattern: 'job.started.*',
    schema: jobStartedSchema,
    subject: (e) => `job.started.${e.pipeline}`,
    msgId: (e) => `job.started:${e.jobId}:${e.attempt}`,
  }),
  'job.done': def({
    stream: 'JOBS',
    pattern: 'job.done.*',
    schema: jobDoneSchema,
    subject: (e) => `job.done.${e.pipeline}`,
    msgId: (e) => `job.done:${e.jobId}`,
  }),
  'job.failed': def({
    stream: 'JOBS',
    pattern: 'job.failed.*',
    schema: jobFailedSchema,
    subject: (e) => `job.failed.${e.pipeline}`,
    msgId: (e) => `job.failed:${e.jobId}:${e.attempt}`,
  }),
  'job.skipped': def({
    stream: 'JOBS',
    pattern: 'job.skipped.*',
    schema: jobSkippedSchema,
    subject: (e) => `job.skipped.${e.instrument}`,
    msgId: (e) => `job.skipped:${e.fileId}`,
  }),
  'canary.result': def({
    stream: 'OPS',
    pattern: 'canary.result.*',
    schema: canaryResultSchema,
    subject: (e) => `canary.result.${e.instrument}`,
    msgId: (e) => `canary.result:${e.checkId}`,
  }),
  'backup.completed': def({
    stream: 'OPS',
    pattern: 'backup.completed',
    schema: backupCompletedSchema,
    subject: () => 'backup.completed',
    msgId: (e) => `backup.completed:${e.backupId}`,
  }),
  heartbeat: def({
    stream: 'HEARTBEATS',
    pattern: 'heartbeat.*.*',
    schema: heartbeatSchema,
    subject: (e) => `heartbeat.${e.service}.${e.instance}`,
    msgId: (e) => `heartbeat:${e.service}:${e.instance}:${e.at}`,
  }),
  'alert.firing': def({
    stream: 'OPS',
    pattern: 'alert.firing',
    schema: alertFiringSchema,
    subject: () => 'alert.firing',
    msgId: (e) => `alert.firing:${e.fingerprint}:${e.startsAt}`,
  }),
  'alert.resolved': def({
    stream: 'OPS',
    pattern: 'alert.resolved',
    schema: alertResolvedSchema,
    subject: () => 'alert.resolved',
    msgId: (e) => `alert.resolved:${e.fingerprint}:${e.startsAt}`,
  }),
  command: def({
    stream: 'OPS',
    pattern: 'command.*',
    schema: commandSchema,
    subject: (e) => `command.${e.verb}`,
    msgId: (e) => `command:${e.commandId}`,
  }),
  'dead.letter': def({
    stream: 'DLQ',
    pattern: 'dlq.*.*',
    schema: deadLetterSchema,
    subject: (e) => `dlq.${e.stream}.${e.consumer}`,
    msgId: (e) => `dlq:${e.stream}:${e.consumer}:${e.sequence}`,
  }),
} as const;

export type EventName = keyof typeof EVENTS;
/** The payload type of event `N`. */
export type EventOf<N extends EventName> = z.infer<(typeof EVENTS)[N]['schema']>;

/** True when `subject` (without prefix) matches a NATS pattern with `*` and `>`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** The catalog entry whose pattern matches `subject` (without prefix), if any. */
export function eventForSubject(subject: string): EventName | undefined {
  for (const name of Object.keys(EVENTS) as EventName[]) {
    if (subjectMatches(EVENTS[name].pattern, subject)) return name;
  }
  return undefined;
}

/**
 * The stable id of an acquisition: the same instrument, path and content always give
 * the same id, so replays and rescans land on the same row.
 */
export function fileIdFor(instrument: string, path: string, sha256: string): string {
  return createHash('sha256').update(`${instrument}\0${path}\0${sha256}`).digest('hex').slice(0, 32);
}

/**
 * The canonical form of a folder acquisition's manifest, the bytes its address is the
 * SHA-256 of: the UTF-8 JSON (no whitespace) of the array of members sorted by the
 * UTF-8 bytes of `path`, each written as `{"path":…,"size":…,"sha256":…}` in that key
 * order. `path` is relative to the folder, with forward slashes. Both the watcher (which
 * announces the digest) and the uploader (which stores the manifest object under it)
 * use this function, so the two can never disagree. Throws on a duplicate path.
 */
export function canonicalManifest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.path, 'utf8'), Buffer.from(b.path, 'utf8')));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.path === sorted[i - 1]!.path) throw new Error(`manifest lists ${sorted[i]!.path} twice`);
  }
  return JSON.stringify(sorted.map((e) => ({ path: e.path, size: e.size, sha256: e.sha256 })));
}

/** The address of a folder acquisition: SHA-256 (hex) of {@link canonicalManifest}. */
export function manifestDigest(entries: readonly ManifestEntry[]): string {
  return createHash('sha256').update(canonicalManifest(entries), 'utf8').digest('hex');
}

/** The content address of a blob: `sha256/<ab>/<cd>/<hash>`, under an optional prefix. */
export function contentKey(sha256: string, prefix = ''): string {
  const key = `sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  const clean = prefix.replace(/^\/+|\/+$/g, '');
  return clean ? `${clean}/${key}` : key;
}
