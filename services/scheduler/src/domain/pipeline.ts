import { PermanentError } from '@ferry/common';

/** Which stored files a pipeline runs on. */
export interface PipelineMatch {
  /** Instrument names; empty means every instrument. */
  instruments: readonly string[];
  /**
   * A pattern on the file's path relative to the instrument folder: `/regex/flags`, or a
   * glob (`*`, `**`, `?`, `[...]`, `{a,b}`). A glob without `/` is matched against the
   * file name only, so `*.raw` matches `2024/run-1.raw`.
   */
  pathPattern?: string | undefined;
  /** Zone names the file must be stored in; empty or unset means any zone. */
  zones?: readonly string[] | undefined;
}

/** Where a pipeline's jobs run when they go to a Slurm cluster instead of a local command. */
export interface SlurmSettings {
  /** The login node that runs `sbatch`, `squeue`, `sacct` and `scancel`. */
  host: string;
  port: number;
  user?: string | undefined;
  /** Private key for `ssh -i`; the ssh client's defaults when unset. */
  identityFile?: string | undefined;
  /** known_hosts file with the login node's key; the user's own when unset. Host keys are always checked. */
  knownHostsFile?: string | undefined;
  /** The batch script. Ferry inserts `export FERRY_…=…` lines after its `#!` and `#SBATCH` header. */
  script: string;
  /** Extra `sbatch` arguments, e.g. `--partition=short`. */
  sbatchArgs: readonly string[];
  /** Remote folder (relative to the remote home, or absolute) for the jobs' output files. */
  workDir: string;
  /** Time between two `squeue` checks. */
  pollIntervalMs: number;
}

/**
 * One processing pipeline. Plain data (no functions or compiled patterns) so a file with
 * many pipelines can be parsed into the same shape and logged as it is.
 */
export interface Pipeline {
  /** Subject token and job-id part: letters, digits, - and _. */
  name: string;
  /** Bumping it makes every file eligible again: the job id includes it. */
  version: number;
  /** The BullMQ queue (and worker group) the jobs go to. */
  pool: string;
  match: PipelineMatch;
  /** Run with `sh -c` on the worker. Exactly one of `command` and `slurm` is set. */
  command?: string | undefined;
  /** Submitted to a Slurm cluster over SSH instead. */
  slurm?: SlurmSettings | undefined;
  /** Tries in total, the first included. */
  attempts: number;
  /** Delay before the first retry; it doubles on each further retry. */
  backoffMs: number;
  /**
   * After this long the command's process group is killed (a Slurm job is cancelled with
   * `scancel`) and the try counts as failed.
   */
  timeoutMs: number;
}

/** The fields of a stored file that pipeline rules look at. */
export interface MatchSubject {
  instrument: string;
  path: string;
  zone?: string | undefined;
}

/** Tests whether a relative path matches a pipeline's path pattern. */
export type PathMatcher = (path: string) => boolean;

/**
 * Compiles a path pattern (see {@link PipelineMatch.pathPattern}). Throws on an invalid
 * regular expression so a bad setting stops the service at start, not at the first file.
 */
export function compilePathPattern(pattern: string): PathMatcher {
  const regex = /^\/(.+)\/([a-z]*)$/s.exec(pattern);
  if (regex) {
    const re = new RegExp(regex[1] ?? '', (regex[2] ?? '').replace(/[gy]/g, ''));
    return (path) => re.test(path);
  }
  const re = new RegExp(`^${globToRegexSource(pattern)}$`);
  if (!pattern.includes('/')) return (path) => re.test(path.slice(path.lastIndexOf('/') + 1));
  return (path) => re.test(path);
}

function globToRegexSource(glob: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        // `**/` also matches no folder at all, so `**/*.raw` matches `run.raw`.
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  if (braces > 0) throw new Error(`unbalanced { in glob ${glob}`);
  return out;
}

/** A compiled set of pipelines: which ones apply to a file. */
export type PipelineMatcher = (file: MatchSubject) => Pipeline[];

/** Compiles every pipeline's rules once; the result lists matches in configuration order. */
export function createPipelineMatcher(pipelines: readonly Pipeline[]): PipelineMatcher {
  const compiled = pipelines.map((pipeline) => ({
    pipeline,
    instruments: new Set(pipeline.match.instruments),
    path: pipeline.match.pathPattern ? compilePathPattern(pipeline.match.pathPattern) : undefined,
    zones: new Set(pipeline.match.zones ?? []),
  }));
  return (file) =>
    compiled
      .filter(
        (c) =>
          (c.instruments.size === 0 || c.instruments.has(file.instrument)) &&
          (c.zones.size === 0 || (file.zone !== undefined && c.zones.has(file.zone))) &&
          (!c.path || c.path(file.path)),
      )
      .map((c) => c.pipeline);
}

/**
 * The BullMQ job id of a pipeline run on a file: the same content and pipeline version
 * always give the same id, which is what keeps a redelivered event from queueing twice.
 */
export function jobIdFor(pipeline: Pick<Pipeline, 'name' | 'version'>, fileId: string): string {
  // BullMQ refuses ids with ':'; retrying cannot fix that, so it is permanent.
  if (fileId.includes(':')) throw new PermanentError(`file id ${fileId} cannot be used in a job id (contains ':')`);
  return `${pipeline.name}-v${pipeline.version}-${fileId}`;
}
