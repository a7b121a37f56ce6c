import { FILE_STATUSES } from '@ferry/common';
import { z } from 'zod';
import { ROLES } from '../domain/tokens.js';

/**
 * The shapes of the API's answers, as zod schemas: the OpenAPI document is generated
 * from them, and tests parse real answers with them, so the document cannot drift from
 * what the server sends. Each named schema is a component of the document.
 */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

function named<S extends z.ZodType>(id: string, schema: S, description?: string): S {
  apiSchemas.add(schema, description === undefined ? { id } : { id, description });
  return schema;
}

const isoTime = z.string().meta({ format: 'date-time' });
const nullableTime = isoTime.nullable();

export const errorSchema = named(
  'Error',
  z.object({
    error: z.enum(['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_many_requests', 'unavailable', 'internal']),
    message: z.string(),
    issues: z.array(z.object({ param: z.string(), message: z.string() })).optional(),
  }),
  'Every error answer: a stable code for programs, a message for people, and for 400 each rejected parameter.',
);

export const fileItemSchema = named(
  'FileItem',
  z.object({
    id: z.string(),
    instrument: z.string(),
    path: z.string().meta({ description: 'Relative to the instrument folder, with forward slashes.' }),
    kind: z.enum(['file', 'folder']),
    size: z.number().int(),
    sha256: z.string(),
    status: z.enum(FILE_STATUSES),
    failedStep: z.string().nullable().meta({ description: '`upload` or `job:<pipeline>` when failed.' }),
    error: z.string().nullable(),
    zone: z.string().nullable(),
    key: z.string().nullable(),
    detectedAt: isoTime,
    storedAt: nullableTime,
    updatedAt: isoTime,
    traceId: z.string().nullable(),
  }),
);

export const filePageSchema = named('FilePage', z.object({ items: z.array(fileItemSchema), nextCursor: z.string().nullable() }));

export const timelineEntrySchema = named(
  'TimelineEntry',
  z.object({
    event: z.string(),
    status: z.enum(FILE_STATUSES).nullable(),
    at: isoTime,
    instance: z.string().nullable(),
    traceId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    sincePreviousMs: z.number().nullable().meta({ description: 'Time since the previous entry: how long that step took.' }),
  }),
);

const jobStatus = z.enum(['queued', 'processing', 'done', 'failed']);

export const jobItemSchema = named(
  'JobItem',
  z.object({
    id: z.string(),
    pipeline: z.string(),
    status: jobStatus,
    attempt: z.number().int(),
    exitCode: z.number().int().nullable(),
    error: z.string().nullable(),
    queuedAt: nullableTime,
    startedAt: nullableTime,
    finishedAt: nullableTime,
    updatedAt: isoTime,
  }),
);

export const fileDetailSchema = named(
  'FileDetail',
  fileItemSchema.extend({
    timeline: z.array(timelineEntrySchema),
    jobs: z.array(jobItemSchema),
    manifest: z.array(z.object({ path: z.string(), size: z.number().int(), sha256: z.string() })).nullable(),
  }),
);

export const commandAcceptedSchema = named(
  'CommandAccepted',
  z.object({ commandId: z.string(), verb: z.string() }),
  'The command was published; the service it is for acts on it shortly.',
);

export const sessionSchema = named(
  'Session',
  z.object({
    name: z.string().meta({ description: 'The name of the token.' }),
    role: z.enum(ROLES),
    expiresAt: nullableTime.meta({ description: 'When the session cookie ends; null when authenticated by bearer token.' }),
  }),
);

const watcherSchema = z.object({ instance: z.string(), lastSeenAt: isoTime, ageMs: z.number(), stale: z.boolean() });

export const instrumentSchema = named(
  'Instrument',
  z.object({
    instrument: z.string(),
    counts: z.record(z.enum(FILE_STATUSES), z.number().int()).meta({ description: 'Files per status (every status present, 0 when none).' }),
    total: z.number().int(),
    lastDetectedAt: nullableTime,
    lastHeartbeatAt: nullableTime.meta({ description: 'The latest heartbeat of its watchers.' }),
    heartbeatAgeMs: z.number().nullable(),
    stale: z.boolean().nullable().meta({ description: 'True when no watcher has beaten recently; null when no watcher reports this instrument.' }),
    watchers: z.array(watcherSchema),
  }),
);

const diskSchema = z.object({
  path: z.string(),
  freeBytes: z.number(),
  totalBytes: z.number(),
  usedFraction: z.number().nullable(),
  forecast: z
    .object({
      freeBytesPerHour: z.number().meta({ description: 'Negative while the disk fills.' }),
      fullAt: nullableTime,
      samples: z.number().int(),
      spanMs: z.number(),
    })
    .nullable()
    .meta({ description: 'A line through the recent samples; null until there are enough.' }),
});

export const componentSchema = named(
  'Component',
  z.object({
    service: z.string(),
    instance: z.string(),
    version: z.string(),
    startedAt: isoTime,
    lastSeenAt: isoTime,
    intervalMs: z.number().int(),
    ageMs: z.number(),
    staleAfterMs: z.number(),
    stale: z.boolean(),
    instrument: z.string().nullable(),
    disks: z.array(diskSchema),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  }),
);

export const alertSchema = named(
  'Alert',
  z.object({
    id: z.number().int(),
    fingerprint: z.string(),
    rule: z.string(),
    status: z.enum(['firing', 'resolved']),
    summary: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    startsAt: isoTime,
    endsAt: nullableTime,
    updatedAt: isoTime,
    silenced: z.boolean(),
    mutedBy: z.string().nullable().meta({ description: '`silence:<id>` or `inhibited:<fingerprint>` while left out of notifications.' }),
  }),
);

export const matcherSchema = named(
  'Matcher',
  z.object({ name: z.string(), value: z.string(), isRegex: z.boolean(), isEqual: z.boolean() }),
  'Alertmanager-style: name="value" (isEqual, not isRegex), != , =~ (regex, anchored) or !~.',
);

export const silenceSchema = named(
  'Silence',
  z.object({
    id: z.string(),
    matchers: z.array(matcherSchema),
    startsAt: isoTime,
    endsAt: isoTime,
    createdBy: z.string(),
    comment: z.string(),
    createdAt: isoTime,
    updatedAt: isoTime,
    state: z.enum(['pending', 'active', 'expired']),
  }),
);

export const jobListItemSchema = named(
  'JobListItem',
  jobItemSchema.extend({ fileId: z.string(), instrument: z.string().nullable(), path: z.string().nullable() }),
);

export const backupSchema = named(
  'Backup',
  z.object({
    id: z.string(),
    database: z.string(),
    zone: z.string(),
    key: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    verified: z.boolean(),
    error: z.string().nullable(),
    tables: z.record(z.string(), z.object({ source: z.number().int(), restored: z.number().int() })),
    startedAt: isoTime,
    finishedAt: isoTime,
    durationMs: z.number(),
  }),
);

export const zoneSchema = named(
  'Zone',
  z.object({
    name: z.string(),
    kind: z.enum(['s3', 'local']),
    servedHere: z.boolean().meta({ description: 'True when this gateway can serve content from it.' }),
    updatedAt: nullableTime,
    bucket: z.string().nullable().optional().meta({ description: 'Admin only.' }),
    endpoint: z.string().nullable().optional().meta({ description: 'Admin only.' }),
    region: z.string().nullable().optional().meta({ description: 'Admin only.' }),
    prefix: z.string().optional().meta({ description: 'Admin only.' }),
    dir: z.string().nullable().optional().meta({ description: 'Admin only.' }),
    reportedBy: z.string().nullable().optional().meta({ description: 'Admin only.' }),
  }),
);

const dayCount = z.object({ day: z.string().meta({ description: 'UTC date, YYYY-MM-DD.' }), files: z.number().int(), bytes: z.number() });

export const usageSchema = named(
  'Usage',
  z.object({
    days: z.number().int(),
    from: z.string(),
    to: z.string(),
    totals: z.array(z.object({ zone: z.string(), files: z.number().int(), bytes: z.number() })),
    perZone: z.array(
      z.object({
        zone: z.string(),
        days: z.array(dayCount.extend({ totalFiles: z.number().int(), totalBytes: z.number() })).meta({ description: 'Every day of the range: stored that day, and the running total at its end.' }),
      }),
    ),
    uploads: z.array(dayCount).meta({ description: 'Files first stored per day (every day of the range).' }),
  }),
);

const statCounts = { count: z.number().int(), clientErrors: z.number().int(), serverErrors: z.number().int(), avgMs: z.number() };

export const requestStatsSchema = named(
  'RequestStats',
  z.object({
    hours: z.number().int(),
    from: isoTime,
    to: isoTime,
    total: z.object(statCounts),
    hourly: z.array(z.object({ hour: isoTime, ...statCounts })),
    routes: z.array(z.object({ method: z.string(), route: z.string(), ...statCounts })),
    clients: z.array(z.object({ client: z.string(), ...statCounts })),
    failures: z.array(z.object({ method: z.string(), route: z.string(), status: z.number().int(), client: z.string(), count: z.number().int() })),
  }),
);

/** `{items: [...]}` of `item`. */
export function itemsOf<S extends z.ZodType>(item: S) {
  return z.object({ items: z.array(item) });
}
