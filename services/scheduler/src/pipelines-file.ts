import { parseDuration, subjectToken } from '@ferry/common';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { compilePathPattern, type Pipeline } from './domain/pipeline.js';
import type { PoolSettings } from './domain/pools.js';

/** What a pipelines file yields: the pipelines and the pools' limits. */
export interface PipelinesFile {
  pipelines: Pipeline[];
  pools: Record<string, Omit<PoolSettings, 'name'>>;
}

/** Defaults for what a pipeline leaves out: the JOB_* variables. */
export interface PipelineDefaults {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return Math.round(v);
  try {
    return parseDuration(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 500ms, 30s, 10m or 2h' });
    return z.NEVER;
  }
});

const pathPattern = z.string().refine((v) => {
  try {
    compilePathPattern(v);
    return true;
  } catch {
    return false;
  }
}, 'must be a glob such as *.raw or **/*.d, or a regular expression such as /\\.raw$/i');

const slurmSchema = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9.:_-]+$/, 'must be a host name or address'),
  port: z.number().int().min(1).max(65_535).default(22),
  user: z.string().regex(/^[A-Za-z0-9._-]+$/, 'must be a user name').optional(),
  identityFile: z.string().min(1).optional(),
  knownHostsFile: z.string().min(1).optional(),
  script: z.string().min(1, 'must hold the batch script'),
  sbatchArgs: z.array(z.string().regex(/^-/, 'must be sbatch options such as --partition=short')).default([]),
  workDir: z.string().regex(/^[A-Za-z0-9._/~-]+$/, 'must be a plain path (letters, digits, . _ / ~ -)').default('.ferry/slurm'),
  pollInterval: duration.pipe(z.number().min(100, 'must be at least 100ms')).default(30_000),
});

const pipelineSchema = z
  .strictObject({
    name: subjectToken,
    version: z.number().int().positive().default(1),
    pool: subjectToken.default('default'),
    match: z
      .strictObject({
        instruments: z.array(subjectToken).default([]),
        path: pathPattern.optional(),
        zones: z.array(subjectToken).default([]),
      })
      .default({ instruments: [], zones: [] }),
    command: z.string().trim().min(1).optional(),
    slurm: slurmSchema.optional(),
    attempts: z.number().int().min(1).max(100).optional(),
    backoff: duration.optional(),
    timeout: duration.pipe(z.number().positive('must be longer than 0')).optional(),
  })
  .refine((p) => (p.command === undefined) !== (p.slurm === undefined), { message: 'needs exactly one of command and slurm', path: ['command'] });

const fileSchema = z.strictObject({
  defaults: z
    .strictObject({ attempts: z.number().int().min(1).max(100).optional(), backoff: duration.optional(), timeout: duration.pipe(z.number().positive()).optional() })
    .default({}),
  pools: z
    .record(subjectToken, z.strictObject({ concurrency: z.number().int().min(1).max(256).optional(), globalConcurrency: z.number().int().min(1).max(10_000).optional() }))
    .default({}),
  pipelines: z
    .array(pipelineSchema)
    .min(1, 'must list at least one pipeline')
    .superRefine((list, ctx) => {
      const seen = new Set<string>();
      list.forEach((p, i) => {
        if (seen.has(p.name)) ctx.addIssue({ code: 'custom', message: `pipeline ${p.name} is listed twice`, path: [i, 'name'] });
        seen.add(p.name);
      });
    }),
});

/** `pipelines[1].slurm.host` from a zod issue path. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || '(file)';
}

/**
 * Parses a pipelines file's text. Returns the problems, each naming the file and the
 * field, instead of throwing, so the caller reports them with the other settings.
 */
export function parsePipelinesFile(text: string, file: string, defaults: PipelineDefaults & { concurrency: number }): PipelinesFile | string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) return doc.errors.map((e) => `${file}: line ${lineCounter.linePos(e.pos[0]).line}: ${e.message.split('\n')[0] ?? e.message}`);
  const parsed = fileSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) return parsed.error.issues.map((issue) => `${file}: ${fieldName(issue.path)}: ${issue.message}`);
  const { defaults: fileDefaults, pools, pipelines } = parsed.data;
  const attempts = fileDefaults.attempts ?? defaults.attempts;
  const backoffMs = fileDefaults.backoff ?? defaults.backoffMs;
  const timeoutMs = fileDefaults.timeout ?? defaults.timeoutMs;
  return {
    pools: Object.fromEntries(
      Object.entries(pools).map(([name, p]) => [name, { concurrency: p.concurrency ?? defaults.concurrency, ...(p.globalConcurrency ? { globalConcurrency: p.globalConcurrency } : {}) }]),
    ),
    pipelines: pipelines.map((p) => ({
      name: p.name,
      version: p.version,
      pool: p.pool,
      match: { instruments: p.match.instruments, pathPattern: p.match.path, zones: p.match.zones },
      ...(p.command !== undefined ? { command: p.command } : {}),
      ...(p.slurm
        ? {
            slurm: {
              host: p.slurm.host,
              port: p.slurm.port,
              user: p.slurm.user,
              identityFile: p.slurm.identityFile,
              knownHostsFile: p.slurm.knownHostsFile,
              script: p.slurm.script,
              sbatchArgs: p.slurm.sbatchArgs,
              workDir: p.slurm.workDir,
              pollIntervalMs: p.slurm.pollInterval,
            },
          }
        : {}),
      attempts: p.attempts ?? attempts,
      backoffMs: p.backoff ?? backoffMs,
      timeoutMs: p.timeout ?? timeoutMs,
    })),
  };
}

/** Reads and parses a pipelines file; see {@link parsePipelinesFile}. */
export function loadPipelinesFile(file: string, defaults: PipelineDefaults & { concurrency: number }): PipelinesFile | string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return [`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`];
  }
  return parsePipelinesFile(text, file, defaults);
}
