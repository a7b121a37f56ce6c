import { Bus, type Received } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSchedulerService, type Component } from './app.js';
import { loadConfig } from './config.js';
import { createHarness, storedFile, testPipeline, type Harness, waitFor } from './testing/harness.js';

describe('job worker resilience', () => {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
  });

  it('puts a running job back on stop, without using an attempt, and another worker finishes it', async () => {
    const h = await createHarness([testPipeline('if [ ! -f "$FERRY_FILE_PATH.ran" ]; then touch "$FERRY_FILE_PATH.ran"; sleep 30; fi', { attempts: 1 })], { worker: false });
    harnesses.push(h);
    const first = await h.startWorker();
    await h.bus.publish('upload.done', await h.storedFile('long.raw', 'x'));
    // The command itself must have started: stopping earlier puts the job back before it ran.
    await waitFor('the first worker running the command', async () => first.running === 1 && (await stat(join(h.dir, 'long.raw.ran')).then(() => true, () => false)));

    const stopping = Date.now();
    await first.stop();
    await first.stop();
    expect(Date.now() - stopping).toBeLessThan(5000);

    await h.startWorker({ instance: 'w2' });
    await waitFor('job.done from the second worker', () => h.seen('job.done').length === 1);
    expect(h.seen('job.done')[0]).toMatchObject({ attempt: 1, worker: 'w2' });
    expect(h.seen('job.failed')).toEqual([]);
    // Both workers announced attempt 1; the stream kept one, by message id.
    expect(h.seen('job.started').map((e) => e.attempt)).toEqual([1]);
  });

  it('keeps an outcome that could not be published and reports it later without rerunning the command', async () => {
    const h = await createHarness([testPipeline('echo ran >> "$FERRY_FILE_PATH.runs"')], { worker: false });
    harnesses.push(h);
    let outages = 2;
    const flaky = Object.create(h.bus) as Bus;
    flaky.publish = ((name, event) => {
      if (name === 'job.done' && outages > 0) {
        outages--;
        return Promise.reject(new Error('nats: no responders'));
      }
      return h.bus.publish(name, event);
    });
    await h.startWorker({ bus: flaky, publishDeadlineMs: 10, retryReportMs: 50 });
    await h.bus.publish('upload.done', await h.storedFile('outage.raw', 'x'));

    await waitFor('job.done once the bus is back', () => h.seen('job.done').length === 1);
    expect(outages).toBe(0);
    expect(h.seen('job.done')[0]!.attempt).toBe(1);
    expect(h.seen('job.failed')).toEqual([]);
    expect(await readFile(join(h.dir, 'outage.raw.runs'), 'utf8')).toBe('ran\n');
  });

  it('fails a job for good when this worker does not have its pipeline', async () => {
    const h = await createHarness([testPipeline('true', { name: 'qc' })], { worker: false });
    harnesses.push(h);
    await h.startWorker({ pipelines: [testPipeline('true', { name: 'other' })] });
    await h.bus.publish('upload.done', await h.storedFile('orphan.raw', 'x'));
    await waitFor('job.failed', () => h.seen('job.failed').length === 1);
    expect(h.seen('job.failed')[0]).toMatchObject({ final: true, exitCode: null, error: 'pipeline qc is not configured on worker w1' });
  });
});

describe('createSchedulerService from loadConfig', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(): Promise<{ iso: Isolated; dir: string; observer: Bus; seen: Received<'job.done' | 'heartbeat'>[] }> {
    const iso = await isolate('svc');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-svc-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const observer = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'observer', service: 'test', logger: testLogger('test') });
    cleanups.push(() => observer.close());
    await observer.ensureStreams();
    const seen: Received<'job.done' | 'heartbeat'>[] = [];
    const collect = (m: Received<'job.done' | 'heartbeat'>) => {
      seen.push(m);
      return Promise.resolve();
    };
    await observer.consume({ stream: 'JOBS', durable: 'observer', filter: 'job.done.>', events: ['job.done'], handler: collect });
    await observer.consume({ stream: 'HEARTBEATS', durable: 'observer', events: ['heartbeat'], handler: collect });
    return { iso, dir, observer, seen };
  }

  function start(env: Record<string, string>): Promise<Component> {
    const service = createSchedulerService({ config: loadConfig(env), logger: testLogger('scheduler') });
    cleanups.push(() => service.stop());
    return service.start().then(() => service);
  }

  const done = (seen: Received<'job.done' | 'heartbeat'>[]) => seen.filter((m) => m.name === 'job.done').map((m) => m.event);

  it('runs the whole chain in one process (mode all) and beats', async () => {
    const { iso, dir, observer, seen } = await setup();
    const service = await start({ ...iso.env, PIPELINE_COMMAND: 'test -f "$FERRY_FILE_PATH"', INSTRUMENT_ROOTS: `ms1=${dir}`, HEARTBEAT_INTERVAL: '1s' });
    await observer.publish('upload.done', await storedFile(dir, 'svc.raw', 'content'));
    await waitFor('job.done', () => done(seen).length === 1);
    expect(done(seen)[0]).toMatchObject({ pipeline: 'default', worker: 'test', exitCode: 0 });
    await waitFor('a heartbeat', () => seen.some((m) => m.name === 'heartbeat'));
    const beat = seen.find((m) => m.name === 'heartbeat')!.event;
    expect(beat).toMatchObject({ service: 'scheduler', instance: 'test', details: { mode: 'all', pipelines: 1 } });
    await service.stop();
    await service.stop();
  });

  it('splits queueing and running across a queue-mode and a worker-mode process', async () => {
    const { iso, dir, observer, seen } = await setup();
    const pipeline = { PIPELINE_NAME: 'split', PIPELINE_COMMAND: 'test -f "$FERRY_FILE_PATH"', PIPELINE_POOL: 'gpu' };
    await start({ ...iso.env, ...pipeline, SCHEDULER_MODE: 'queue', FERRY_INSTANCE: 'core' });
    await start({ ...iso.env, ...pipeline, SCHEDULER_MODE: 'worker', FERRY_INSTANCE: 'gpu-host', INSTRUMENT_ROOTS: `ms1=${dir}` });
    await observer.publish('upload.done', await storedFile(dir, 'split.raw', 'content'));
    await waitFor('job.done', () => done(seen).length === 1);
    expect(done(seen)[0]).toMatchObject({ pipeline: 'split', worker: 'gpu-host', exitCode: 0 });
  });

  it('can be stopped without having started', async () => {
    const { iso } = await setup();
    const service = createSchedulerService({ config: loadConfig(iso.env), logger: testLogger('scheduler') });
    await service.stop();
    await service.stop();
  });
});
