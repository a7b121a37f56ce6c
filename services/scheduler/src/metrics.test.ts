import { Bus, getTracer, metricsRegistry, setupTelemetry, SpanKind, withSpan, type Received, type Telemetry } from '@ferry/common';
import { isolate, testLogger } from '@ferry/testkit';
import { InMemorySpanExporter } from '@ferry/common/tracing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSchedulerService } from './app.js';
import { loadConfig } from './config.js';
import { storedFile, waitFor } from './testing/harness.js';

/** The value of one series, 0 when it does not exist (yet). */
async function value(metric: string, labels: Record<string, string>, series = metric): Promise<number> {
  const m = metricsRegistry.getSingleMetric(metric);
  if (!m) return 0;
  const { values } = await m.get();
  return values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === series && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

describe('scheduler metrics and the trace through BullMQ', () => {
  const spans = new InMemorySpanExporter();
  let telemetry: Telemetry;
  beforeAll(() => {
    telemetry = setupTelemetry({ service: 'scheduler-test', exporters: [spans] });
  });
  afterAll(() => telemetry.shutdown());

  it('counts jobs by outcome, times them, reads queue depths at scrape, and continues the file trace in the job', async () => {
    const iso = await isolate('schedmetrics');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-sched-metrics-'));
    const observer = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'observer', service: 'observer', logger: testLogger('observer') });
    await observer.ensureStreams();
    const outcomes: Received<'job.done' | 'job.failed'>[] = [];
    await observer.consume({
      stream: 'JOBS',
      durable: 'observer',
      events: ['job.done', 'job.failed'],
      filter: 'job.>',
      handler: (m) => {
        if (m.name === 'job.done' || m.name === 'job.failed') outcomes.push(m);
        return Promise.resolve();
      },
    });
    // Files named bad-* fail every try: two tries, the second final.
    const service = createSchedulerService({
      config: loadConfig({ ...iso.env, PIPELINE_NAME: 'qc', PIPELINE_COMMAND: 'case "$FERRY_FILE_RELPATH" in bad-*) exit 3;; esac', JOB_ATTEMPTS: '2', JOB_BACKOFF: '50ms', INSTRUMENT_ROOTS: `ms1=${dir}` }),
      logger: testLogger('scheduler'),
    });
    try {
      await service.start();
      const before = {
        done: await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'done' }),
        retried: await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'retried' }),
        failed: await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'failed' }),
        timed: await value('ferry_job_duration_seconds', { pipeline: 'qc' }, 'ferry_job_duration_seconds_count'),
      };
      const good = await storedFile(dir, 'good.raw', 'fine');
      const traceId = await withSpan(getTracer('uploader'), 'upload', {}, async (span) => {
        await observer.publish('upload.done', good);
        return span.spanContext().traceId;
      });
      await observer.publish('upload.done', await storedFile(dir, 'bad-1.raw', 'broken'));
      await waitFor('both jobs settled', () => outcomes.filter((o) => o.name === 'job.done' || (o.name === 'job.failed' && o.event.final)).length === 2, { timeoutMs: 20_000 });

      expect((await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'done' })) - before.done).toBe(1);
      expect((await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'retried' })) - before.retried).toBe(1);
      expect((await value('ferry_jobs_total', { pipeline: 'qc', outcome: 'failed' })) - before.failed).toBe(1);
      expect((await value('ferry_job_duration_seconds', { pipeline: 'qc' }, 'ferry_job_duration_seconds_count')) - before.timed).toBe(3);
      // Read from Redis when scraped: one completed and one failed job in the pool's queue.
      await waitFor('queue counts', async () => (await value('ferry_queue_jobs', { queue: 'jobs-default', state: 'completed' })) === 1, { timeoutMs: 5000 });
      expect(await value('ferry_queue_jobs', { queue: 'jobs-default', state: 'failed' })).toBe(1);
      expect(await value('ferry_queue_jobs', { queue: 'jobs-default', state: 'waiting' })).toBe(0);
      const rendered = await metricsRegistry.getSingleMetricAsString('ferry_queue_jobs');
      expect(rendered).toContain('queue="ops-backup"');

      // upload.done process → job qc enqueue → job qc, all in the uploader's trace.
      await waitFor('the job span', () => spans.getFinishedSpans().some((s) => s.name === 'job qc' && s.spanContext().traceId === traceId), { timeoutMs: 5000 });
      const trace = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      const byId = new Map(trace.map((s) => [s.spanContext().spanId, s]));
      const parentOf = (name: string) => byId.get(trace.find((s) => s.name === name)!.parentSpanContext?.spanId ?? '')?.name;
      expect(parentOf('job qc')).toBe('job qc enqueue');
      expect(parentOf('job qc enqueue')).toBe('upload.done process');
      expect(parentOf('job.done publish')).toBe('job qc');
      expect(trace.find((s) => s.name === 'job qc enqueue')!.kind).toBe(SpanKind.PRODUCER);
      expect(trace.find((s) => s.name === 'job qc')!.kind).toBe(SpanKind.CONSUMER);
    } finally {
      await service.stop();
      await observer.close();
      await rm(dir, { recursive: true, force: true });
    }
    // Stopped: its queues are no longer reported.
    expect(await metricsRegistry.getSingleMetricAsString('ferry_queue_jobs')).not.toContain('jobs-default');
  });
});
