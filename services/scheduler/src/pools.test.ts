import { testLogger } from '@ferry/testkit';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCommandHandler } from './adapters/command-consumer.js';
import { jobIdFor } from './domain/pipeline.js';
import { createHarness, testPipeline, type Harness, waitFor } from './testing/harness.js';

describe('pools and operator retries against real NATS and Redis', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
  });

  it('holds the per-worker and the global limit of a pool under 50 queued jobs', async () => {
    // Each job marks itself running in a shared folder and in its worker's folder, and
    // samples how many are running at its start and its end.
    const command = [
      'd="$(dirname "$FERRY_FILE_PATH")"',
      'mkdir -p "$d/running" "$d/running-$FERRY_WORKER"',
      'touch "$d/running/$FERRY_JOB_ID" "$d/running-$FERRY_WORKER/$FERRY_JOB_ID"',
      'sample() { echo "$(ls "$d/running" | wc -l) $(ls "$d/running-$FERRY_WORKER" | wc -l)" >> "$d/samples"; }',
      'sample; sleep 0.2; sample',
      'rm "$d/running/$FERRY_JOB_ID" "$d/running-$FERRY_WORKER/$FERRY_JOB_ID"',
    ].join('; ');
    const pipeline = testPipeline(command, { pool: 'slots' });
    const h = await createHarness([pipeline], { worker: false, pools: [{ name: 'slots', concurrency: 2, globalConcurrency: 3 }] });
    harnesses.push(h);
    const files = await Promise.all(Array.from({ length: 50 }, (_, i) => h.storedFile(`run-${i}.raw`, `content ${i}`)));
    for (const f of files) await h.bus.publish('upload.done', f);
    await waitFor('50 jobs queued', () => h.seen('job.queued').length === 50, { timeoutMs: 30_000 });

    // Two workers that would run 4 at once between them; the pool allows 3.
    await h.startWorker({ instance: 'wa', concurrency: 2 });
    await h.startWorker({ instance: 'wb', concurrency: 2 });
    await waitFor('50 jobs done', () => h.seen('job.done').length === 50 || h.seen('job.failed')[0], { timeoutMs: 90_000, intervalMs: 200 });

    const samples = (await readFile(join(h.dir, 'samples'), 'utf8')).trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number]);
    expect(samples).toHaveLength(100);
    expect(Math.max(...samples.map((s) => s[0]))).toBe(3);
    expect(Math.max(...samples.map((s) => s[1]))).toBeLessThanOrEqual(2);
    const workers = new Set(h.seen('job.done').map((e) => e.worker));
    expect(workers).toEqual(new Set(['wa', 'wb']));
    expect(h.seen('job.failed')).toEqual([]);
  });

  it('retries a failed job on command with a new attempt series, once per command', async () => {
    const command = 'if [ ! -f "$FERRY_FILE_PATH.fixed" ]; then echo "try $FERRY_ATTEMPT: input missing" >&2; exit 2; fi; echo ok';
    const pipeline = testPipeline(command, { attempts: 2 });
    const h = await createHarness([pipeline]);
    harnesses.push(h);
    const file = await h.storedFile('broken.raw', 'x');
    await h.bus.publish('upload.done', file);
    await waitFor('a final failure', () => h.seen('job.failed').some((e) => e.final));
    const jobId = jobIdFor(pipeline, file.fileId);
    await waitFor('the BullMQ job to be failed', async () => (await h.queues.state('default', jobId)) === 'failed');

    const handle = createCommandHandler({ bus: h.bus, queues: h.queues, pipelines: [pipeline], logger: testLogger('scheduler') });
    const retry = (commandId: string, args: Record<string, unknown>) => handle({ commandId, verb: 'retry', by: 'alice', at: new Date().toISOString(), args });
    await writeFile(join(h.dir, 'broken.raw.fixed'), '');
    expect(await retry('c1', { fileId: file.fileId })).toEqual({ verb: 'retry', result: 'retried', jobs: [jobId] });
    // The same command again (a redelivery) does nothing.
    expect(await retry('c1', { fileId: file.fileId })).toMatchObject({ result: 'nothing failed' });
    await waitFor('job.done', () => h.seen('job.done').length === 1);

    expect(h.seen('job.failed').map((e) => [e.attempt, e.final])).toEqual([
      [1, false],
      [2, true],
    ]);
    // Attempt numbers go on, so every try keeps its own event ids.
    expect(h.seen('job.started').map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(h.seen('job.done')[0]).toMatchObject({ jobId, attempt: 3 });
    expect(await h.queues.state('default', jobId)).toBe('completed');
    // A retry of a job that did not fail, of an unknown file or pipeline, or with bad args.
    expect(await retry('c2', { fileId: file.fileId, pipeline: 'qc' })).toMatchObject({ result: 'nothing failed' });
    expect(await retry('c3', { fileId: 'unknown' })).toMatchObject({ result: 'nothing failed' });
    expect(await retry('c4', { fileId: file.fileId, pipeline: 'other' })).toMatchObject({ result: 'no such pipeline' });
    await expect(retry('c5', {})).rejects.toThrow(/invalid args/);
    // A failed upload's retry is an uploader's.
    expect(await retry('c6', { fileId: file.fileId, step: 'upload' })).toEqual({ verb: 'retry', result: 'ignored' });
  });

  it('gives a retried series the pipeline\'s full attempts and backoff', async () => {
    const pipeline = testPipeline('echo "always fails" >&2; exit 1', { attempts: 2 });
    const h = await createHarness([pipeline]);
    harnesses.push(h);
    const file = await h.storedFile('hopeless.raw', 'x');
    await h.bus.publish('upload.done', file);
    await waitFor('a final failure', () => h.seen('job.failed').filter((e) => e.final).length === 1);
    await waitFor('the BullMQ job to be failed', async () => (await h.queues.state('default', jobIdFor(pipeline, file.fileId))) === 'failed');
    const handle = createCommandHandler({ bus: h.bus, queues: h.queues, pipelines: [pipeline], logger: testLogger('scheduler') });
    await handle({ commandId: 'r1', verb: 'retry', by: 'alice', at: new Date().toISOString(), args: { fileId: file.fileId } });
    await waitFor('the second series to fail', () => h.seen('job.failed').filter((e) => e.final).length === 2);
    expect(h.seen('job.failed').map((e) => [e.attempt, e.final])).toEqual([
      [1, false],
      [2, true],
      [3, false],
      [4, true],
    ]);
    // The retry's job.queued (attempt 3) has its own message id (job id and attempt), so
    // the stream keeps it and the file's timeline shows the new series being queued.
    expect(h.seen('job.queued').map((e) => e.attempt)).toEqual([1, 3]);
  });
});
