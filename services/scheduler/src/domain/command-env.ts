/** What a job knows about its file and itself; the source of the FERRY_* variables. */
export interface JobFacts {
  jobId: string;
  pipeline: string;
  attempt: number;
  fileId: string;
  instrument: string;
  /** Relative to the instrument folder, with forward slashes. */
  path: string;
  sha256: string;
  size: number;
  zone: string;
  key: string;
}

/** Options for {@link buildCommandEnv}. */
export interface CommandEnvOptions {
  /** The worker's own environment, inherited by the command. */
  base: NodeJS.ProcessEnv;
  job: JobFacts;
  /** Absolute path of the file on this host; FERRY_FILE_PATH is left unset when unknown. */
  localPath?: string | undefined;
  /** W3C traceparent of the job's span, so the command can continue the trace. */
  traceparent?: string | undefined;
}

/**
 * The worker's own connection secrets: a pipeline command has no business with Ferry's
 * queues, bus or database, and a command's output (kept as a failure reason) must never
 * be able to print them.
 */
const WORKER_SECRETS = new Set(['NATS_PASSWORD', 'NATS_CREDS_FILE', 'NATS_USER', 'REDIS_URL', 'DATABASE_URL']);

/**
 * The environment of a pipeline command: the worker's environment (less its own
 * connection secrets) plus the FERRY_* variables describing the file and the job.
 * Ferry's values win over inherited ones so a stale FERRY_FILE_ID in the worker's
 * environment can never reach a command.
 */
export function buildCommandEnv(options: CommandEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.base)) {
    if (value !== undefined && !key.startsWith('FERRY_FILE_') && key !== 'TRACEPARENT' && !WORKER_SECRETS.has(key)) env[key] = value;
  }
  const { job } = options;
  Object.assign(env, {
    FERRY_FILE_ID: job.fileId,
    FERRY_FILE_RELPATH: job.path,
    FERRY_FILE_SHA256: job.sha256,
    FERRY_FILE_SIZE: String(job.size),
    FERRY_INSTRUMENT: job.instrument,
    FERRY_ZONE: job.zone,
    FERRY_KEY: job.key,
    FERRY_PIPELINE: job.pipeline,
    FERRY_JOB_ID: job.jobId,
    FERRY_ATTEMPT: String(job.attempt),
  });
  if (options.localPath) env.FERRY_FILE_PATH = options.localPath;
  if (options.traceparent) env.TRACEPARENT = options.traceparent;
  return env;
}
