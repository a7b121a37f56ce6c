import { getTracer, setupTelemetry, withSpan, type Telemetry } from '@ferry/common';
import { testLogger } from '@ferry/testkit';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from './app.js';
import { jobIdFor } from './domain/pipeline.js';
import { consumerCaughtUp, createHarness, testPipeline, type Harness, waitFor } from './testing/harness.js';

let telemetry: Telemetry;
beforeAll(() => {
  // Installs the W3C propagator so trace context really travels through the job.
  telemetry = setupTelemetry({ service: 'scheduler-test' });
});
afterAll(() => telemetry.shutdown());

describe('scheduler and job worker against real NATS and Redis', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
  });
  const harness = async (...args: Parameters<typeof createHarness>) => {
    const h = await createHarness(...args);
    harnesses.push(h);
    return h;
  };

  it('queues, runs and reports a job with the file in its environment and the trace continued', async () => {
    const checks = [
      'test "$FERRY_FILE_SHA256" = "$(sha256sum "$FERRY_FILE_PATH" | cut -d" " -f1)"',
      'test "$FERRY_FILE_RELPATH" = run-1.raw',
      'test "$FERRY_FILE_SIZE" = 11',
      'test "$FERRY_INSTRUMENT" = ms1',
      'test "$FERRY_ZONE" = default',
      'test "$FERRY_KEY" = "sha256/$(echo "$FERRY_FILE_SHA256" | cut -c1-2)/$(echo "$FERRY_FILE_SHA256" | cut -c3-4)/$FERRY_FILE_SHA256"',
      'test "$FERRY_PIPELINE" = qc',
      'test "$FERRY_JOB_ID" = "qc-v1-$FERRY_FILE_ID"',
      'test "$FERRY_ATTEMPT" = 1',
      'echo "$TRACEPARENT" > "$(dirname "$FERRY_FILE_PATH")/traceparent"',
    ];
    const h = await harness([testPipeline(checks.join(' && '))]);
    const file = await h.storedFile('run-1.raw', 'hello world');
    const traceId = await withSpan(getTracer('test'), 'upload', {}, async (span) => {
      await h.bus.publish('upload.done', file);
      return span.spanContext().traceId;
    });

    await waitFor('job.done', () => h.seen('job.done').length === 1 || h.seen('job.failed')[0]);
    const jobId = jobIdFor({ name: 'qc', version: 1 }, file.fileId);
    expect(h.events.map((e) => e.name)).toEqual(['job.queued', 'job.started', 'job.done']);
    expect(h.seen('job.queued')[0]).toMatchObject({ jobId, fileId: file.fileId, pipeline: 'qc', instrument: 'ms1', sha256: file.sha256, attempt: 1 });
    expect(h.seen('job.started')[0]).toMatchObject({ jobId, attempt: 1, worker: 'w1' });
    expect(h.seen('job.done')[0]).toMatchObject({ jobId, attempt: 1, worker: 'w1', exitCode: 0 });
    expect(h.seen('job.done')[0]!.durationMs).toBeGreaterThanOrEqual(0);
    const traceparent = await readFile(join(h.dir, 'traceparent'), 'utf8');
    expect(traceparent.split('-')[1]).toBe(traceId);
    expect(await h.queues.state('default', jobId)).toBe('completed');
  });

  it('retries a failing command with backoff until it succeeds', async () => {
    const counter = 'n=$(cat "$FERRY_FILE_PATH.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$FERRY_FILE_PATH.count"';
    const h = await harness([testPipeline(`${counter}; if [ $n -lt 3 ]; then echo "try $n failed" >&2; exit 1; fi`, { attempts: 3 })]);
    await h.bus.publish('upload.done', await h.storedFile('flaky.raw', 'x'));

    await waitFor('job.done after two failures', () => h.seen('job.done').length === 1 || h.seen('job.failed').some((e) => e.final));
    expect(h.seen('job.failed').map((e) => ({ attempt: e.attempt, final: e.final, exitCode: e.exitCode, error: e.error }))).toEqual([
      { attempt: 1, final: false, exitCode: 1, error: 'exit code 1: try 1 failed' },
      { attempt: 2, final: false, exitCode: 1, error: 'exit code 1: try 2 failed' },
    ]);
    expect(h.seen('job.started').map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(h.seen('job.done')[0]!.attempt).toBe(3);
    expect(await readFile(join(h.dir, 'flaky.raw.count'), 'utf8')).toBe('3\n');
  });

  it('reports the last failure as final with the exit code and the output tail', async () => {
    const h = await harness([testPipeline('echo "reading header"; echo "cannot parse header" >&2; exit 3', { attempts: 2 })]);
    const file = await h.storedFile('bad.raw', 'not a raw file');
    await h.bus.publish('upload.done', file);

    await waitFor('a final job.failed', () => h.seen('job.failed').some((e) => e.final));
    const failed = h.seen('job.failed');
    expect(failed.map((e) => [e.attempt, e.final])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(failed[1]!.exitCode).toBe(3);
    expect(failed[1]!.error).toContain('exit code 3');
    expect(failed[1]!.error).toContain('reading header');
    expect(failed[1]!.error).toContain('cannot parse header');
    expect(h.seen('job.done')).toEqual([]);
    await waitFor('the BullMQ job to be failed', async () => (await h.queues.state('default', jobIdFor({ name: 'qc', version: 1 }, file.fileId))) === 'failed');
  });

  it('queues one job for duplicate and redelivered upload.done events', async () => {
    const h = await harness([testPipeline('echo ran >> "$FERRY_FILE_PATH.runs"')], { worker: false });
    const file = await h.storedFile('dup.raw', 'same content');
    // Two zones: two distinct messages on the stream for the same content.
    await h.bus.publish('upload.done', file);
    await h.bus.publish('upload.done', { ...file, zone: 'scratch' });
    await waitFor('both upload.done handled', () => consumerCaughtUp(h.bus));
    expect(await h.queues.counts()).toMatchObject({ default: { waiting: 1 } });

    await h.startWorker();
    await waitFor('job.done', () => h.seen('job.done').length === 1);
    // The same event handled again, as after a crash before the ack.
    await h.scheduler.handle(file);
    // A replay of the whole stream, as after the durable consumer was lost.
    await h.scheduler.stop();
    await h.bus.jsm.consumers.delete(h.bus.streamName('FILES'), 'scheduler');
    const again = createScheduler({ bus: h.bus, queues: h.queues, pipelines: [testPipeline('true')], logger: testLogger('scheduler') });
    await again.start();
    await waitFor('the replay handled', () => consumerCaughtUp(h.bus));
    await again.stop();

    expect(h.seen('job.queued')).toHaveLength(1);
    expect(h.seen('job.started')).toHaveLength(1);
    expect(h.seen('job.done')).toHaveLength(1);
    expect(await readFile(join(h.dir, 'dup.raw.runs'), 'utf8')).toBe('ran\n');
    expect(await h.queues.counts()).toMatchObject({ default: { waiting: 0, completed: 1 } });
  });

  it('publishes job.skipped when no pipeline matches', async () => {
    const h = await harness([testPipeline('true', { match: { instruments: ['ms2'], pathPattern: '*.raw' } })]);
    const file = await h.storedFile('notes.txt', 'hello');
    await h.bus.publish('upload.done', file);
    await waitFor('job.skipped', () => h.seen('job.skipped').length === 1);
    expect(h.seen('job.skipped')[0]).toMatchObject({ fileId: file.fileId, instrument: 'ms1', sha256: file.sha256, reason: 'no pipeline matched' });
    await waitFor('upload.done handled', () => consumerCaughtUp(h.bus));
    expect(h.events.map((e) => e.name)).toEqual(['job.skipped']);
  });

  it('kills a command that runs past its timeout and reports it', async () => {
    const h = await harness([testPipeline('sleep 30 & echo $! > "$FERRY_FILE_PATH.pid"; echo working; wait', { attempts: 1, timeoutMs: 300 })]);
    await h.bus.publish('upload.done', await h.storedFile('slow.raw', 'x'));

    await waitFor('job.failed', () => h.seen('job.failed').length === 1);
    const failed = h.seen('job.failed')[0]!;
    expect(failed).toMatchObject({ attempt: 1, final: true, exitCode: null });
    expect(failed.error).toMatch(/^timed out after 300ms: working/);
    const pid = Number(await readFile(join(h.dir, 'slow.raw.pid'), 'utf8'));
    await waitFor('the background sleep to be gone', async () => {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      return / Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ' Z '));
    });
  });
});
