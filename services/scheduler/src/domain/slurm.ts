/** Quotes a value for a POSIX shell: `'…'` with embedded quotes escaped. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script as submitted: the pipeline's script with `export` lines for the job's
 * FERRY_* variables inserted after its header. sbatch reads `#SBATCH` directives only
 * before the first command, so the exports go after the leading `#!`, comment and blank
 * lines. A script without `#!` gets `#!/bin/sh`.
 */
export function buildBatchScript(template: string, env: Readonly<Record<string, string>>): string {
  const lines = template.replace(/\r\n/g, '\n').split('\n');
  if (!lines[0]?.startsWith('#!')) lines.unshift('#!/bin/sh');
  let header = 1;
  while (header < lines.length && /^\s*(#.*)?$/.test(lines[header] ?? '')) header++;
  // Keep trailing blank lines of the header below the exports, for readability only.
  while (header > 1 && (lines[header - 1] ?? '').trim() === '') header--;
  const exports = Object.keys(env)
    .sort()
    .filter((k) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map((k) => `export ${k}=${shellQuote(env[k] ?? '')}`);
  const out = [...lines.slice(0, header), '# Set by Ferry for this job:', ...exports, ...lines.slice(header)].join('\n');
  return out.endsWith('\n') ? out : `${out}\n`;
}

/** The job id from `sbatch --parsable` output (`12345` or `12345;cluster`). */
export function parseSbatchOutput(stdout: string): string | undefined {
  const line = stdout.trim().split('\n').pop()?.trim() ?? '';
  const id = line.split(';')[0]?.trim() ?? '';
  return /^\d+(_\d+)?$/.test(id) ? id : undefined;
}

/** Slurm states in which a job has not ended yet. */
const ACTIVE_STATES = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'STOPPED',
  'RESV_DEL_HOLD',
]);

/** True when an `squeue -o %T` state means the job is still queued or running. */
export function isActiveState(state: string): boolean {
  return ACTIVE_STATES.has(state.trim().toUpperCase());
}

/** How a Slurm job ended, from `sacct -n -P -o State,ExitCode`. */
export interface SlurmEnd {
  /** `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, … */
  state: string;
  exitCode: number | null;
  /** The signal that ended the batch script, 0 when none. */
  signal: number;
}

/**
 * Reads sacct's answer. The first line is the job itself (later ones are its steps);
 * `CANCELLED by 1000` keeps only `CANCELLED`. Undefined while accounting has no record
 * yet, or the record still shows the job active.
 */
export function parseSacctOutput(stdout: string): SlurmEnd | undefined {
  const first = stdout.split('\n').map((l) => l.trim()).find(Boolean);
  if (!first) return undefined;
  const [rawState = '', rawExit = ''] = first.split('|');
  const state = rawState.trim().split(/\s+/)[0]?.replace(/\+$/, '').toUpperCase() ?? '';
  if (!state || isActiveState(state)) return undefined;
  const m = /^(\d+):(\d+)$/.exec(rawExit.trim());
  return { state, exitCode: m ? Number(m[1]) : null, signal: m ? Number(m[2]) : 0 };
}
