import { parseDuration } from '@ferry/common/config';
import { ConfigError } from '@ferry/common/errors';
import { subjectToken } from '@ferry/common/events';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { InstrumentConfig } from './config.js';
import { DEFAULT_IGNORE } from './domain/filters.js';
import { BUILTIN_RULES, type Rule } from './domain/rules.js';

const DURATION = /^\d+(\.\d+)?\s*(ms|s|m|h|d)?$/i;
/** A duration: milliseconds as a number, or a string such as 500ms, 10s, 5m, 2h. */
const duration = z
  .union([z.number().nonnegative(), z.string().trim().regex(DURATION, 'must be a duration such as 500ms, 5s, 10m, 2h or 7d')], {
    error: 'must be a duration such as 500ms, 5s, 10m, 2h or 7d',
  })
  .transform((v) => (typeof v === 'number' ? Math.round(v) : parseDuration(v)));
const glob = z.string().trim().min(1, 'must not be empty');
const ruleName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'letters, digits and - only');

const folderRule = z.strictObject({
  type: z.literal('folder'),
  name: ruleName,
  match: glob,
  mainFiles: z.array(z.array(glob).min(1)).min(1),
  mainFileTimeout: duration.default(30 * 60_000),
});
const failedNameRule = z.strictObject({
  type: z.literal('failed-name'),
  name: ruleName,
  match: glob,
  reason: z.string().min(1).default('the instrument software marked it failed in its name'),
});
const companionRule = z.strictObject({
  type: z.literal('companion'),
  name: ruleName,
  match: glob,
  companions: z.array(z.string().min(1)).min(1),
  timeout: duration.default(60 * 60_000),
});
const customRule = z.discriminatedUnion('type', [folderRule, failedNameRule, companionRule], {
  error: 'must be the name of a built-in rule, {use: <built-in>, …changes}, or a rule with type folder, failed-name or companion',
});
const builtinNames = BUILTIN_RULES.map((r) => r.name);

/** A rule as written in YAML, from a domain rule (so built-ins can be changed field by field). */
function asWritten(rule: Rule): Record<string, unknown> {
  if (rule.type === 'folder') return { type: rule.type, name: rule.name, match: rule.match, mainFiles: rule.mainFiles, mainFileTimeout: rule.mainFileTimeoutMs };
  if (rule.type === 'companion') return { type: rule.type, name: rule.name, match: rule.match, companions: rule.companions, timeout: rule.timeoutMs };
  return { ...rule };
}

function toRule(r: z.infer<typeof customRule>): Rule {
  if (r.type === 'folder') return { type: 'folder', name: r.name, match: r.match, mainFiles: r.mainFiles, mainFileTimeoutMs: r.mainFileTimeout };
  if (r.type === 'companion') return { type: 'companion', name: r.name, match: r.match, companions: r.companions, timeoutMs: r.timeout };
  return { type: 'failed-name', name: r.name, match: r.match, reason: r.reason };
}

/** One entry of `rules`: `bruker-d`, `{use: bruker-d, mainFileTimeout: 2h}`, or a whole rule. */
const ruleItem = z.unknown().transform((value, ctx): Rule => {
  const issue = (message: string, path: PropertyKey[] = []) => {
    ctx.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  };
  let written: unknown = value;
  if (typeof value === 'string') {
    const builtin = BUILTIN_RULES.find((r) => r.name === value);
    if (!builtin) return issue(`unknown built-in rule "${value}" (built-in: ${builtinNames.join(', ')})`);
    return builtin;
  }
  if (value !== null && typeof value === 'object' && 'use' in value) {
    const { use, ...changes } = value as Record<string, unknown>;
    const builtin = BUILTIN_RULES.find((r) => r.name === use);
    if (!builtin) return issue(`unknown built-in rule "${String(use)}" (built-in: ${builtinNames.join(', ')})`, ['use']);
    if ('type' in changes || 'name' in changes) return issue('a changed built-in rule keeps its type and name; write a rule of your own instead');
    written = { ...asWritten(builtin), ...changes };
  }
  const parsed = customRule.safeParse(written);
  if (!parsed.success) {
    for (const i of parsed.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  return toRule(parsed.data);
});

/** Settings an instrument may set, and `defaults` may set for all of them. */
const settings = {
  zone: subjectToken.optional(),
  include: z.array(glob).optional(),
  exclude: z.array(glob).optional(),
  ignore: z.array(glob).optional(),
  ignoreDefaults: z.boolean().optional(),
  stable: duration.optional(),
  poll: z.union([z.literal('auto'), z.boolean()], { error: 'must be auto, true or false' }).optional(),
  pollInterval: duration.refine((v) => v >= 50, 'must be at least 50ms').optional(),
  rescan: duration.refine((v) => v >= 1000, 'must be at least 1s').optional(),
  hashConcurrency: z.number().int().min(1).max(32).optional(),
  retryUnreadable: duration.refine((v) => v >= 100, 'must be at least 100ms').optional(),
  rules: z.array(ruleItem).optional(),
};

const instrumentSchema = z.strictObject({
  name: subjectToken,
  folder: z.string().trim().min(1),
  stateFile: z.string().trim().min(1).optional(),
  ...settings,
});

const fileSchema = z
  .strictObject({
    /** Where each instrument's inventory goes (`watcher-<name>.jsonl`), unless it sets `stateFile`. */
    stateDir: z.string().trim().min(1).optional(),
    heartbeatInterval: duration.refine((v) => v >= 100, 'must be at least 100ms').optional(),
    defaults: z.strictObject(settings).optional(),
    instruments: z.array(instrumentSchema).min(1, 'list at least one instrument'),
  })
  .superRefine((file, ctx) => {
    const names = new Map<string, number>();
    file.instruments.forEach((inst, i) => {
      const earlier = names.get(inst.name);
      if (earlier !== undefined) ctx.addIssue({ code: 'custom', message: `instrument ${inst.name} is already listed as instruments[${earlier}]`, path: ['instruments', i, 'name'] });
      names.set(inst.name, i);
    });
  });

/** Built-in defaults, the same as the environment shorthand's. */
export const DEFAULTS = {
  stableMs: 10_000,
  poll: 'auto' as const,
  pollIntervalMs: 1000,
  rescanMs: 300_000,
  hashConcurrency: 2,
  retryUnreadableMs: 30_000,
};

/** What a watcher YAML file says. */
export interface WatchFile {
  instruments: InstrumentConfig[];
  heartbeatIntervalMs: number | undefined;
}

/**
 * Parses and checks a watcher YAML file. Throws a ConfigError naming the file and each
 * offending field (`instruments[1].stable`) with what it got. Relative paths are taken
 * from the file's folder; the state folder defaults to `.ferry` in the working directory.
 */
export function parseWatchFile(text: string, file: string, cwd = process.cwd()): WatchFile {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ConfigError('watcher', doc.errors.map((e) => `${file}: ${e.message.split('\n')[0]}`));
  const raw: unknown = doc.toJS();
  const result = fileSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(
      'watcher',
      result.error.issues.map((issue) => {
        const where = formatPath(issue.path);
        const got = valueAt(raw, issue.path);
        const shown = got === undefined ? 'not set' : `got ${JSON.stringify(got)?.slice(0, 80)}`;
        return `${file}: ${where || '(top level)'}: ${issue.message} (${shown})`;
      }),
    );
  }
  const base = dirname(resolve(cwd, file));
  const parsed = result.data;
  const stateDir = parsed.stateDir ? resolve(base, parsed.stateDir) : resolve(cwd, '.ferry');
  const d = parsed.defaults ?? {};
  const instruments = parsed.instruments.map((inst): InstrumentConfig => {
    const pick = <K extends keyof typeof d>(key: K) => (inst[key] !== undefined ? inst[key] : d[key]);
    const ignoreDefaults = pick('ignoreDefaults') ?? true;
    return {
      name: inst.name,
      folder: resolve(base, inst.folder),
      zone: pick('zone'),
      include: pick('include') ?? [],
      exclude: pick('exclude') ?? [],
      ignore: [...(ignoreDefaults ? DEFAULT_IGNORE : []), ...(pick('ignore') ?? [])],
      stableMs: pick('stable') ?? DEFAULTS.stableMs,
      poll: pick('poll') ?? DEFAULTS.poll,
      pollIntervalMs: pick('pollInterval') ?? DEFAULTS.pollIntervalMs,
      rescanMs: pick('rescan') ?? DEFAULTS.rescanMs,
      hashConcurrency: pick('hashConcurrency') ?? DEFAULTS.hashConcurrency,
      retryUnreadableMs: pick('retryUnreadable') ?? DEFAULTS.retryUnreadableMs,
      rules: pick('rules') ?? [...BUILTIN_RULES],
      stateFile: inst.stateFile ? resolve(base, inst.stateFile) : resolve(stateDir, `watcher-${inst.name}.jsonl`),
    };
  });
  const issues: string[] = [];
  const seen = new Map<string, string>();
  for (const inst of instruments) {
    for (const [what, key] of [['folder', inst.folder], ['stateFile', inst.stateFile]] as const) {
      const other = seen.get(`${what}:${key}`);
      if (other) issues.push(`${file}: instrument ${inst.name}: ${what} ${key} is also ${other}'s`);
      seen.set(`${what}:${key}`, inst.name);
    }
  }
  if (issues.length > 0) throw new ConfigError('watcher', issues);
  return { instruments, heartbeatIntervalMs: parsed.heartbeatInterval };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}
