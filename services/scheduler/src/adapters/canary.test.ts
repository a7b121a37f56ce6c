import { Bus, contentKey, fileIdFor, type EventOf, type Received } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_FILE_PREFIX, createCanary } from './canary.js';
import { waitFor } from '../testing/harness.js';

describe('canary against real NATS', () => {
  let iso: Isolated;
  let bus: Bus;
  let dir: string;
  const beats: EventOf<'heartbeat'>[] = [];
  const results: EventOf<'canary.result'>[] = [];

  beforeAll(async () => {
    iso = await isolate('canary');
    dir = await mkdtemp(join(tmpdir(), 'ferry-canary-'));
    bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'canary-test', service: 'scheduler', logger: testLogger('scheduler') });
    await bus.ensureStreams();
    await bus.consume({
      stream: 'HEARTBEATS',
      durable: 'observer',
      events: ['heartbeat'],
      handler: (m: Received<'heartbeat'>) => {
        beats.push(m.event);
        return Promise.resolve();
      },
    });
    await bus.consume({
      stream: 'OPS',
      durable: 'canary-observer',
      filter: 'canary.>',
      events: ['canary.result'],
      handler: (m: Received<'canary.result'>) => {
        results.push(m.event);
        return Promise.resolve();
      },
    });
  });
  afterAll(async () => {
    await bus?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const canary = (limitMs: number) =>
    createCanary({ bus, dir, instrument: 'canary', limitMs, intervalMs: 300_000, instance: 'core1', version: '1.2.3', logger: testLogger('scheduler') });

  /** Plays watcher, uploader and scheduler for the next canary file: stored, then the given end. */
  async function chain(end: (e: EventOf<'upload.done'>) => Promise<void>): Promise<void> {
    const name = await waitFor('the canary file', async () => (await readdir(dir)).find((n) => n.startsWith(CANARY_FILE_PREFIX) && n.endsWith('.txt') && !n.includes('leftover')), { timeoutMs: 20_000 });
    const content = await readFile(join(dir, name), 'utf8');
    const sha256 = createHash('sha256').update(content).digest('hex');
    const stored: EventOf<'upload.done'> = {
      fileId: fileIdFor('canary', name, sha256),
      instrument: 'canary',
      path: name,
      size: Buffer.byteLength(content),
      sha256,
      zone: 'default',
      key: contentKey(sha256),
      existed: false,
      storedAt: new Date().toISOString(),
      durationMs: 3,
      uploader: 'u1',
    };
    await bus.publish('upload.done', stored);
    await end(stored);
  }

  it('reports ok with the latency when the file comes back done, as a canary heartbeat', async () => {
    await writeFile(join(dir, `${CANARY_FILE_PREFIX}leftover.txt`), 'from a check that died');
    const playing = chain((e) => bus.publish('job.skipped', { fileId: e.fileId, instrument: 'canary', sha256: e.sha256, reason: 'no pipeline matched', at: new Date().toISOString() }));
    const result = await canary(20_000).check();
    await playing;
    expect(result).toMatchObject({ result: 'ok' });
    expect(result.latencyMs).toBeLessThan(20_000);
    // Its file and an earlier check's leftover are gone.
    expect((await readdir(dir)).filter((n) => n.startsWith(CANARY_FILE_PREFIX))).toEqual([]);
    await waitFor('the canary heartbeat', () => beats.length === 1);
    expect(beats[0]).toMatchObject({
      service: 'canary',
      instance: 'canary',
      version: '1.2.3',
      intervalMs: 320_000,
      details: { lastResult: 'ok', lastLatencyMs: result.latencyMs, lastCheckAt: result.checkedAt, lastDetail: null },
    });
    await waitFor('the canary.result event', () => results.length === 1);
    expect(results[0]).toMatchObject({ instrument: 'canary', instance: 'core1', result: 'ok', latencyMs: result.latencyMs, limitMs: 20_000, intervalMs: 300_000, sha256: result.sha256, checkedAt: result.checkedAt });
    expect(results[0]!.detail).toBeUndefined();
  });

  it('reports failed at once when the file\'s job fails for good', async () => {
    const playing = chain((e) =>
      bus.publish('job.failed', { jobId: `qc-v1-${e.fileId}`, fileId: e.fileId, pipeline: 'qc', instrument: 'canary', sha256: e.sha256, attempt: 3, at: new Date().toISOString(), exitCode: 1, error: 'exit code 1', final: true }),
    );
    const result = await canary(20_000).check();
    await playing;
    expect(result).toMatchObject({ result: 'failed', detail: 'job qc failed: exit code 1' });
    await waitFor('the second heartbeat', () => beats.length === 2);
    expect(beats[1]!.details).toMatchObject({ lastResult: 'failed' });
    await waitFor('the second canary.result', () => results.length === 2);
    expect(results[1]).toMatchObject({ result: 'failed', detail: 'job qc failed: exit code 1' });
  });

  it('reports late when the file is stored but not done within the limit', async () => {
    const playing = chain(() => Promise.resolve());
    const result = await canary(1500).check();
    await playing;
    expect(result).toMatchObject({ result: 'late', detail: 'stored, but not processed in time' });
    expect(result.latencyMs).toBeGreaterThanOrEqual(1500);
  });
});
