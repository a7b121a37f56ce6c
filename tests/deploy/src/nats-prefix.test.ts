import { EVENTS, type Bus, type EventName, type Received } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { openKvResumeStore } from '@ferry/uploader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectCommands, publishOutcome, refusal, subscribeOutcome } from './checks.js';
import { connectAs, copyNatsConfig, startFerryNats, type FerryNats, type NatsConfigCopy } from './nats-server.js';
import { command, fileDetected, publishCases, ROLES, type Role } from './samples.js';

// A deployment with NATS_PREFIX=lab: auth.conf rewritten by with-prefix.sh, the second
// instrument added with gen-instrument-user.sh --prefix lab.
const PREFIX = 'lab';
let config: NatsConfigCopy;
let nats: FerryNats;
const buses = new Map<Role, Bus>();
const bus = (role: Role) => buses.get(role)!;

beforeAll(async () => {
  config = await copyNatsConfig(['orbitrap1'], { prefix: PREFIX });
  nats = await startFerryNats({ dir: config.dir, env: config.passwords });
  for (const role of ROLES) buses.set(role, await connectAs(nats.url, role, config.userPasswords[role]!, { NATS_PREFIX: PREFIX }));
  await bus('monitor').ensureStreams();
});

afterAll(async () => {
  await Promise.allSettled([...buses.values()].map((b) => b.close()));
  await nats?.stop();
  await config?.remove();
});

describe('auth.conf for NATS_PREFIX=lab (deploy/nats/with-prefix.sh)', () => {
  it('the streams are the prefixed ones', async () => {
    for (const stream of ['FILES', 'JOBS', 'OPS', 'HEARTBEATS', 'DLQ']) {
      expect((await bus('monitor').jsm.streams.info(`${PREFIX}_${stream}`)).config.subjects.every((s) => s.startsWith(`${PREFIX}.`))).toBe(true);
      expect(await refusal(bus('monitor').jsm.streams.info(stream))).toMatch(/permissions violation/i);
    }
  });

  it.each(publishCases().filter((c) => EVENTS[c.event as EventName]?.stream !== null))('$event ($label): only its publishers', async (c) => {
    const outcomes: Record<string, string> = {};
    const expected: Record<string, string> = {};
    for (const role of ROLES) {
      outcomes[role] = await publishOutcome(bus(role), c.event, c.sample);
      expected[role] = c.by.includes(role) ? 'published' : 'refused';
    }
    expect(outcomes).toEqual(expected);
  });

  it('the uploader consumes its durable and keeps its resume state in lab_uploads; the scheduler gets upload.done', async () => {
    const store = await openKvResumeStore(bus('uploader'), { ttlMs: 3_600_000 });
    const state = { v: 1 as const, key: 'k', uploadId: 'u1', size: 1, partSize: 1, owner: 'w1', startedAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    const got: string[] = [];
    const uploader = await bus('uploader').consume({
      stream: 'FILES',
      durable: 'uploader',
      filter: 'file.detected.>',
      deliverPolicy: 'new',
      events: ['file.detected'],
      handler: async ({ event }: Received<'file.detected'>) => {
        await store.claim('default', event.sha256, state, undefined);
        await store.addPart('default', event.sha256, 'u1', { n: 1, etag: 'e', size: 1, sha256: event.sha256 });
        expect(await store.parts('default', event.sha256, 'u1')).toHaveLength(1);
        await bus('uploader').publish('upload.done', {
          fileId: event.fileId, instrument: event.instrument, path: event.path, size: event.size, sha256: event.sha256,
          zone: 'default', key: 'k', existed: false, storedAt: new Date().toISOString(), durationMs: 1, uploader: 'w1',
        });
      },
    });
    const scheduler = await bus('scheduler').consume({
      stream: 'FILES',
      durable: 'scheduler',
      filter: 'upload.done.>',
      deliverPolicy: 'new',
      events: ['upload.done'],
      handler: ({ event }: Received<'upload.done'>) => {
        got.push(event.fileId);
        return Promise.resolve();
      },
    });
    try {
      const detected = fileDetected('orbitrap1');
      await bus('instrument-orbitrap1').publish('file.detected', detected as never);
      await waitFor('upload.done to reach the scheduler', () => got.includes(detected.fileId as string));
      expect((await bus('uploader').jsm.streams.info('KV_lab_uploads')).config.name).toBe('KV_lab_uploads');
    } finally {
      await Promise.all([uploader.stop(), scheduler.stop()]);
    }
  });

  it("the gateway's upload retries reach the uploader's command durable", async () => {
    const commands = await collectCommands(bus('uploader'), 'uploader-commands', 'command.retry', (c) => c.commandId);
    try {
      await bus('gateway').publish('command', { ...command('retry'), commandId: 'lab-retry', args: { fileId: 'f1', step: 'upload' } } as never);
      await waitFor('the retry to reach the uploader', () => commands.got.includes('lab-retry'));
    } finally {
      await commands.stop();
    }
  });

  it('an instrument still reads nothing, and the unprefixed subjects are closed to everyone', async () => {
    expect((await subscribeOutcome(bus('instrument-demo'), 'lab.file.detected.>')).ended).toBe('PermissionViolationError');
    expect(await publishOutcome(bus('uploader'), 'upload.done', { ...publishCases().find((c) => c.event === 'upload.done')!.sample })).toBe('published');
    // A service left without NATS_PREFIX publishes to subjects nobody may use.
    const unprefixed = await connectAs(nats.url, 'uploader', config.userPasswords.uploader!);
    try {
      expect(await refusal(unprefixed.jsm.streams.info('FILES'))).toMatch(/permissions violation/i);
      const consume = unprefixed.consume({ stream: 'FILES', durable: 'uploader', filter: 'file.detected.>', events: ['file.detected'], handler: () => Promise.resolve() });
      expect(await refusal(consume)).toMatch(/permissions violation/i);
    } finally {
      await unprefixed.close();
    }
  });
});
