export {
  createJobWorker,
  createScheduler,
  createSchedulerService,
  type Component,
  type JobWorker,
  type JobWorkerOptions,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerServiceOptions,
} from './app.js';
export { loadConfig, SCHEDULER_MODES, type SchedulerConfig, type SchedulerMode } from './config.js';
export { CommandFailedError, type JobResult } from './adapters/job-processor.js';
export { createJobQueues, KEEP_FINISHED_SECONDS, poolQueueName, type JobData, type JobQueues, type JobQueuesOptions, type RetryPolicy } from './adapters/job-queues.js';
export { redisOptionsFromUrl } from './adapters/redis.js';
export { createPipelineMatcher, jobIdFor, type Pipeline, type PipelineMatch } from './domain/pipeline.js';
export { parsePipelinesFile, loadPipelinesFile, type PipelinesFile } from './pipelines-file.js';
export type { PoolSettings } from './domain/pools.js';
export type { SlurmSettings } from './domain/pipeline.js';
export { createBackups, listStoredBackups, type Backups, type BackupSettings, type Verification } from './adapters/backups.js';
export { backupsToDelete, DEFAULT_BACKUP_POLICY, type BackupPolicy } from './domain/backup-policy.js';
export { createCanary, type Canary, type CanaryResult } from './adapters/canary.js';
export { createOperations, OPS_QUEUES, type Operations } from './operations.js';
export { runCli } from './cli.js';
