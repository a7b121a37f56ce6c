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
