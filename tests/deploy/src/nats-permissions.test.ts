import { errorMessage, EVENTS, type Bus, type EventName, type Received } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { openKvResumeStore } from '@ferry/uploader';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCommands, publishOutcome, refusal, subscribeOutcome } from './checks.js';
import { connectAs, copyNatsConfig, startFerryNats, type FerryNats, type NatsConfigCopy } from './nats-server.js';
import { command, fileDetected, heartbeat, publishCases, ROLES, type Role } from './samples.js';

const run = promisify(execFile);

let config: NatsConfigCopy;
let nats: FerryNats;
const buses = new Map<Role | 'admin', Bus>();

function bus(role: Role | 'admin'): Bus {
  const b = buses.get(role);
  if (!b) throw new Error(`no connection for ${role}`);
  return b;
}

beforeAll(async () => {
  // The shipped configuration plus a second instrument, added as the guide says.
  config = await copyNatsConfig(['orbitrap1']);
  nats = await startFerryNats({ dir: config.dir, env: config.passwords });
  for (const role of [...ROLES, 'admin'] as const) {
    buses.set(role, await connectAs(nats.url, role, config.userPasswords[role]!, role === 'admin' ? { NATS_INBOX_PREFIX: '_INBOX' } : {}));
  }
  // The core services create the streams when they start; the monitor here.
  await bus('monitor').ensureStreams();
});

afterAll(async () => {
  await Promise.allSettled([...buses.values()].map((b) => b.close()));
  await nats?.stop();
  await config?.remove();
});

describe('start.sh', () => {
  const attempt = async (env: Record<string, string>) => {
    try {
      await run('sh', [join(config.dir, 'start.sh'), '-t'], { env: { PATH: process.env.PATH, ...env } });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { code?: number; stderr?: string };
      return { code: e.code, stderr: e.stderr ?? '' };
    }
  };

  it('refuses a missing, empty or unparseable password, naming it (nats-server would let anyone in on an empty one)', async () => {
    const { NATS_GATEWAY_PASSWORD: _gone, ...missing } = config.passwords;
    expect(await attempt(missing)).toMatchObject({ code: 78, stderr: expect.stringContaining('NATS_GATEWAY_PASSWORD is not set') });
    expect(await attempt({ ...config.passwords, NATS_WORKER_PASSWORD: '' })).toMatchObject({ code: 78, stderr: expect.stringContaining('NATS_WORKER_PASSWORD is not set') });
    expect(await attempt({ ...config.passwords, NATS_MONITOR_PASSWORD: '12345678901234567890' })).toMatchObject({
      code: 78,
      stderr: expect.stringContaining('NATS_MONITOR_PASSWORD must be 16 or more'),
    });
    expect(await attempt(config.passwords)).toMatchObject({ code: 0 });
  });
});

describe('an instrument PC', () => {
  it('announces its own acquisitions and sends heartbeats; it may not look at streams, and the watcher goes on without', async () => {
    const demo = bus('instrument-demo');
    expect(await refusal(demo.jsm.streams.info('FILES'))).toMatch(/permissions violation for publish to "\$JS\.API\.STREAM\.INFO\.FILES"/i);
    await expect(demo.ensureStreams()).resolves.toBeUndefined();
    await demo.publish('file.detected', fileDetected('demo') as never);
    await demo.publish('heartbeat', heartbeat('watcher', 'demo-pc1') as never);
    const info = await bus('monitor').jsm.streams.info('FILES', { subjects_filter: 'file.detected.demo' });
    expect(info.state.subjects?.['file.detected.demo']).toBeGreaterThanOrEqual(1);
  });

  it("cannot announce another instrument's files, not even with a plain publish", async () => {
    const stored = async () => (await bus('monitor').jsm.streams.info('FILES', { subjects_filter: 'file.detected.orbitrap1' })).state.subjects?.['file.detected.orbitrap1'] ?? 0;
    const before = await stored();
    expect(await publishOutcome(bus('instrument-demo'), 'file.detected', fileDetected('orbitrap1'))).toBe('refused');
    bus('instrument-demo').nc.publish('file.detected.orbitrap1', JSON.stringify(fileDetected('orbitrap1')));
    await bus('instrument-demo').nc.flush();
    expect(await publishOutcome(bus('instrument-orbitrap1'), 'file.detected', fileDetected('demo'))).toBe('refused');
    expect(await stored()).toBe(before);
    // Its own still works after the refusals.
    expect(await publishOutcome(bus('instrument-orbitrap1'), 'file.detected', fileDetected('orbitrap1'))).toBe('published');
    expect(await stored()).toBe(before + 1);
  });

  it.each([
    '>',
    'file.detected.>',
    'file.detected.demo',
    'upload.progress.*',
    'command.*',
    'heartbeat.>',
    '$KV.uploads.>',
    '_INBOX.>',
    '_INBOX_instrument-orbitrap1.>',
    '_INBOX_monitor.>',
  ])('cannot subscribe to %s: the subscription is refused and receives nothing', async (subject) => {
    const outcome = await subscribeOutcome(bus('instrument-demo'), subject, async () => {
      await bus('instrument-demo').publish('file.detected', fileDetected('demo') as never);
      await bus('uploader').publish('upload.progress', { fileId: 'f', instrument: 'demo', bytes: 1, total: 2, at: new Date().toISOString() });
      await bus('gateway').publish('command', command('retry') as never);
    });
    expect(outcome).toEqual({ ended: 'PermissionViolationError', received: 0 });
  });

  it('cannot create streams or consumers, nor read stored messages or the upload state', async () => {
    const demo = bus('instrument-demo');
    expect(await refusal(demo.jsm.streams.add({ name: 'MINE', subjects: ['mine.>'] }))).toMatch(/permissions violation/i);
    expect(await refusal(demo.jsm.streams.delete('FILES'))).toMatch(/permissions violation/i);
    expect(await refusal(demo.jsm.streams.getMessage('FILES', { seq: 1 }))).toMatch(/permissions violation/i);
    expect(await refusal(demo.jsm.consumers.add('FILES', { durable_name: 'peek' }))).toMatch(/permissions violation/i);
    expect(await refusal(demo.consume({ stream: 'FILES', durable: 'uploader', events: ['file.detected'], handler: () => Promise.resolve() }))).toMatch(/permissions violation/i);
    expect(await refusal(openKvResumeStore(demo, { ttlMs: 60_000 }))).toMatch(/permissions violation/i);
  });
});

describe('who may publish what', () => {
  const cases = publishCases();

  it('covers every event of the catalog (a new event needs its publishers in deploy/nats/auth.conf and here)', () => {
    expect([...new Set(cases.map((c) => c.event))].sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it.each(cases.filter((c) => EVENTS[c.event as EventName]?.stream !== null))('$event ($label): only its publishers', async (c) => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const role of ROLES) {
      outcomes[role] = await publishOutcome(bus(role), c.event, c.sample);
      expected[role] = c.by.includes(role) ? 'published' : 'refused';
    }
    expect(outcomes).toEqual(expected);
  });

  it.each(cases.filter((c) => EVENTS[c.event as EventName]?.stream === null))('$event ($label, not stored): only its publishers reach a subscriber', async (c) => {
    // Core publications are not acknowledged: a refused one simply never arrives.
    const got = new Set<number>();
    const sub = bus('monitor').subscribeCore(c.event as EventName, (event) => got.add((event as { bytes: number }).bytes));
    await bus('monitor').nc.flush();
    for (const [i, role] of ROLES.entries()) {
      await bus(role).publish(c.event as EventName, { ...c.sample, bytes: i } as never);
      await bus(role).nc.flush();
    }
    const expected = ROLES.flatMap((role, i) => (c.by.includes(role) ? [i] : []));
    await waitFor(`${c.event} from ${c.by.join(', ')}`, () => got.size >= expected.length);
    await new Promise((r) => setTimeout(r, 200));
    sub.stop();
    expect([...got].sort()).toEqual(expected);
  });
});

describe('each service with its own credentials', () => {
  it('a file goes through uploader, scheduler and job workers; commands reach the scheduler; the monitor reads every stream', async () => {
    const seenByMonitor: string[] = [];
    const progress: string[] = [];
    const stops: (() => Promise<void> | void)[] = [];
    try {
      for (const stream of ['FILES', 'JOBS', 'OPS', 'HEARTBEATS', 'DLQ'] as const) {
        const sub = await bus('monitor').consume({
          stream,
          durable: `monitor-${stream.toLowerCase()}`,
          deliverPolicy: 'new',
          events: Object.keys(EVENTS).filter((n) => EVENTS[n as EventName].stream === stream) as EventName[],
          handler: (msg) => {
            seenByMonitor.push(`${stream}:${msg.name}`);
            return Promise.resolve();
          },
        });
        stops.push(() => sub.stop());
      }
      const live = bus('monitor').subscribeCore('upload.progress', (e) => progress.push(e.fileId));
      stops.push(() => live.stop());

      // The uploader: its durable, its KV bucket (the resume state), its events.
      const store = await openKvResumeStore(bus('uploader'), { ttlMs: 3_600_000 });
      const kvSeen: unknown[] = [];
      const uploaded: string[] = [];
      const uploader = await bus('uploader').consume({
        stream: 'FILES',
        durable: 'uploader',
        filter: 'file.detected.>',
        deliverPolicy: 'new',
        events: ['file.detected'],
        handler: async ({ event }: Received<'file.detected'>) => {
          const state = { v: 1 as const, key: `sha256/${event.sha256}`, uploadId: 'u1', size: event.size, partSize: 16, owner: 'w1', startedAt: event.detectedAt, updatedAt: event.detectedAt };
          expect(await store.claim('default', event.sha256, state, undefined)).toBe(true);
          await store.addPart('default', event.sha256, 'u1', { n: 1, etag: '"e1"', size: 16, sha256: event.sha256 });
          kvSeen.push(await store.parts('default', event.sha256, 'u1'), (await store.list('default')).length, (await store.get('default', event.sha256))?.state.uploadId);
          await store.remove('default', event.sha256);
          await bus('uploader').publish('upload.progress', { fileId: event.fileId, instrument: event.instrument, bytes: 1, total: event.size, at: new Date().toISOString() });
          await bus('uploader').publish('upload.done', {
            fileId: event.fileId,
            instrument: event.instrument,
            path: event.path,
            size: event.size,
            sha256: event.sha256,
            zone: 'default',
            key: state.key,
            existed: false,
            storedAt: new Date().toISOString(),
            durationMs: 3,
            uploader: 'w1',
          });
          uploaded.push(event.fileId);
        },
      });
      stops.push(() => uploader.stop());
      // Its second durable: retries of failed uploads, and nothing else of OPS.
      const { got: uploadRetries, stop: stopRetries } = await collectCommands(bus('uploader'), 'uploader-commands', 'command.retry', (c) => c.commandId);
      stops.push(stopRetries);

      // The scheduler: upload.done in, job.queued out; commands; the canary's plain subscriptions.
      const queued: string[] = [];
      const scheduler = await bus('scheduler').consume({
        stream: 'FILES',
        durable: 'scheduler',
        filter: 'upload.done.>',
        deliverPolicy: 'new',
        events: ['upload.done'],
        handler: async ({ event }: Received<'upload.done'>) => {
          const jobId = `job-${event.fileId}`;
          await bus('scheduler').publish('job.queued', { jobId, fileId: event.fileId, pipeline: 'qc', instrument: event.instrument, sha256: event.sha256, attempt: 1, at: new Date().toISOString() });
          queued.push(jobId);
        },
      });
      stops.push(() => scheduler.stop());
      const { got: commands, stop: stopCommands } = await collectCommands(bus('scheduler'), 'scheduler-commands', 'command.>', (c) => c.verb);
      stops.push(stopCommands);
      const jobsDone: string[] = [];
      const canary = bus('scheduler').subscribeCore('job.done', (e) => jobsDone.push(e.jobId));
      stops.push(() => canary.stop());
      await bus('scheduler').nc.flush();

      // An instrument announces a file, and sends something no consumer can read.
      const detected = fileDetected('demo', 'journey.raw');
      await bus('instrument-demo').publish('file.detected', detected as never);
      bus('instrument-demo').nc.publish('file.detected.demo', 'not json');
      await bus('instrument-demo').publish('heartbeat', heartbeat('watcher', 'demo-journey') as never);

      await waitFor('the uploader to store the file', () => uploaded.includes(detected.fileId as string));
      const jobId = await waitFor('the scheduler to queue a job', () => queued[0]);
      // A job worker runs it (it gets it from Redis) and reports.
      const base = { jobId, fileId: detected.fileId as string, pipeline: 'qc', instrument: 'demo', sha256: detected.sha256 as string, attempt: 1, worker: 'w2' };
      await bus('worker').publish('job.started', { ...base, at: new Date().toISOString() });
      await bus('worker').publish('job.done', { ...base, at: new Date().toISOString(), exitCode: 0, durationMs: 5 });
      await bus('gateway').publish('command', command('backup') as never);
      const retry = { ...(command('retry') as object), commandId: 'retry-upload', args: { fileId: detected.fileId, step: 'upload' } };
      await bus('gateway').publish('command', retry as never);
      await bus('scheduler').publish('backup.completed', publishCases().find((c) => c.event === 'backup.completed')!.sample as never);

      await waitFor("the scheduler's canary to see job.done", () => jobsDone.includes(jobId));
      await waitFor('the command to reach the scheduler', () => commands.includes('backup'));
      await waitFor('the retry to reach the uploader', () => uploadRetries.includes('retry-upload'));
      // The backup command is not the uploader's: its filter is command.retry.
      expect(uploadRetries).toEqual(['retry-upload']);
      await waitFor('the invalid message to be dead-lettered by the uploader', () => uploader.stats.deadLettered === 1);
      const expected = [
        'FILES:file.detected',
        'FILES:upload.done',
        'JOBS:job.queued',
        'JOBS:job.started',
        'JOBS:job.done',
        'OPS:command',
        'OPS:backup.completed',
        'HEARTBEATS:heartbeat',
        'DLQ:dead.letter',
      ];
      const missing = () => expected.filter((e) => !seenByMonitor.includes(e));
      await waitFor(`the monitor to read ${expected.join(', ')}`, () => missing().length === 0).catch((err: unknown) => {
        throw new Error(`${errorMessage(err)}; missing ${missing().join(', ')}; seen ${seenByMonitor.join(', ')}`);
      });
      expect(progress).toContain(detected.fileId);
      expect(kvSeen).toEqual([[{ n: 1, etag: '"e1"', size: 16, sha256: detected.sha256 }], 1, 'u1']);
    } finally {
      for (const stop of stops.reverse()) await stop();
    }
  });

  it.each([
    ['uploader', { stream: 'FILES', durable: 'scheduler' }],
    ['uploader', { stream: 'OPS', durable: 'scheduler-commands' }],
    ['scheduler', { stream: 'OPS', durable: 'uploader-commands' }],
    ['scheduler', { stream: 'FILES', durable: 'uploader' }],
    ['worker', { stream: 'JOBS', durable: 'monitor-jobs' }],
    ['gateway', { stream: 'OPS', durable: 'scheduler-commands' }],
    ['gateway', { stream: 'FILES', durable: 'gateway' }],
  ] as const)("%s cannot consume through %o (another service's work)", async (role, target) => {
    const attempt = bus(role).consume({ ...target, events: ['file.detected'], handler: () => Promise.resolve() });
    expect(await refusal(attempt)).toMatch(/permissions violation/i);
  });

  it("the uploader's durable reads file.detected only: another filter is refused", async () => {
    const attempt = bus('uploader').consume({ stream: 'FILES', durable: 'uploader', filter: 'upload.done.>', events: ['upload.done'], handler: () => Promise.resolve() });
    expect(await refusal(attempt)).toMatch(/permissions violation for publish to "\$JS\.API\.CONSUMER\.CREATE\.FILES\.uploader\.upload\.done\.>"/i);
  });

  it("the uploader's command durable reads command.retry only", async () => {
    const attempt = bus('uploader').consume({ stream: 'OPS', durable: 'uploader-commands', filter: 'command.>', events: ['command'], handler: () => Promise.resolve() });
    expect(await refusal(attempt)).toMatch(/permissions violation/i);
  });

  it.each(['uploader', 'scheduler', 'worker', 'monitor', 'gateway'] as const)('%s cannot delete or purge a stream, or make one of its own', async (role) => {
    expect(await refusal(bus(role).jsm.streams.delete('FILES'))).toMatch(/permissions violation/i);
    expect(await refusal(bus(role).jsm.streams.purge('JOBS'))).toMatch(/permissions violation/i);
    expect(await refusal(bus(role).jsm.streams.add({ name: 'MINE', subjects: ['mine.>'] }))).toMatch(/permissions violation/i);
  });

  it('only the monitor may create and update the Ferry streams', async () => {
    await expect(bus('monitor').ensureStreams()).resolves.toBeUndefined();
    const files = (await bus('monitor').jsm.streams.info('FILES')).config;
    await expect(bus('monitor').jsm.streams.update('FILES', files)).resolves.toBeDefined();
  });

  it.each(['uploader', 'scheduler', 'worker'] as const)('%s only looks the streams up: changing one (its limits could delete what it holds) is refused, and its start goes on', async (role) => {
    const files = (await bus(role).jsm.streams.info('FILES')).config;
    expect(await refusal(bus(role).jsm.streams.update('FILES', { ...files, max_age: 1_000_000_000 }))).toMatch(/permissions violation/i);
    expect(await refusal(bus(role).jsm.streams.add({ ...files, name: 'FILES2', subjects: ['files2.>'] }))).toMatch(/permissions violation/i);
    await expect(bus(role).ensureStreams()).resolves.toBeUndefined();
    expect((await bus('monitor').jsm.streams.info('FILES')).config.max_age).toBe(files.max_age);
  });

  it('a worker host started before the monitor waits for the streams, and says what to do when they do not come', async () => {
    await bus('admin').jsm.streams.delete('DLQ');
    try {
      // The monitor comes up a second later.
      const waiting = bus('uploader').ensureStreams({ waitMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await bus('monitor').ensureStreams();
      await expect(waiting).resolves.toBeUndefined();
      // It does not come.
      await bus('admin').jsm.streams.delete('DLQ');
      await expect(bus('worker').ensureStreams({ waitMs: 1500 })).rejects.toThrow(/stream DLQ does not exist and this NATS user may not create it: the monitor creates the streams when it starts; start it first/);
    } finally {
      await bus('monitor').ensureStreams();
    }
  });

  it('the gateway may not touch the streams at all', async () => {
    expect(await refusal(bus('gateway').jsm.streams.info('FILES'))).toMatch(/permissions violation/i);
    expect(await refusal(bus('gateway').jsm.streams.update('FILES', (await bus('monitor').jsm.streams.info('FILES')).config))).toMatch(/permissions violation/i);
  });

  it.each(['scheduler', 'worker', 'monitor', 'gateway'] as const)("%s cannot open the uploader's KV bucket", async (role) => {
    expect(await refusal(openKvResumeStore(bus(role), { ttlMs: 60_000 }))).toMatch(/permissions violation/i);
  });

  it.each([
    ['uploader', 'file.detected.>'],
    ['uploader', '_INBOX_monitor.>'],
    ['scheduler', '$KV.uploads.>'],
    ['worker', 'job.>'],
    ['monitor', '_INBOX_uploader.>'],
    ['monitor', '_INBOX.>'],
    ['gateway', 'upload.progress.*'],
    ['gateway', '>'],
  ] as const)('%s cannot subscribe to %s', async (role, subject) => {
    expect((await subscribeOutcome(bus(role), subject)).ended).toBe('PermissionViolationError');
  });

  it('a service left on the default inbox prefix cannot even reach JetStream', async () => {
    // NATS_INBOX_PREFIX must be _INBOX_<user>: replies to _INBOX.* are refused.
    const attempt = connectAs(nats.url, 'uploader', config.userPasswords.uploader!, { NATS_INBOX_PREFIX: '_INBOX' });
    expect(await refusal(attempt)).toMatch(/permissions violation/i);
  });

  it('the admin user, for operators, sees the consumers (e.g. to remove the monitor’s for a replay)', async () => {
    const names: string[] = [];
    for await (const c of bus('admin').jsm.consumers.list('FILES')) names.push(c.name);
    expect(names).toEqual(expect.arrayContaining(['uploader', 'scheduler', 'monitor-files']));
  });
});
