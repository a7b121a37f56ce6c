import { testLogger } from '@ferry/testkit';
import { describe, expect, it } from 'vitest';
import { memoryResumeStore } from './resume-store.js';
import { Sweeper } from './sweeper.js';
import type { PendingMultipart, ZoneWriter } from './zone-writer.js';

const DAY = 86_400_000;
const now = Date.parse('2026-03-10T12:00:00Z');
const hash = (c: string) => c.repeat(64);
const key = (c: string) => `sha256/${c}${c}/${c}${c}/${hash(c)}`;

function fakeWriter(name: string, pending: PendingMultipart[] | undefined): ZoneWriter & { aborted: string[] } {
  const aborted: string[] = [];
  return {
    aborted,
    zone: { name, kind: 's3', bucket: 'b', region: 'us-east-1', prefix: '', forcePathStyle: true },
    store: () => Promise.reject(new Error('not used')),
    close: () => undefined,
    listPending: () => Promise.resolve(pending),
    abortPending: (_key, uploadId) => {
      aborted.push(uploadId);
      return Promise.resolve();
    },
  };
}

describe('Sweeper', () => {
  it('aborts old orphans, spares live and young uploads, forgets their resume state, and skips stores that cannot list', async () => {
    const resume = memoryResumeStore();
    const header = (uploadId: string, updatedAt: number) => ({
      v: 1 as const,
      key: '',
      uploadId,
      size: 1,
      partSize: 1,
      owner: 'x',
      startedAt: new Date(now - 9 * DAY).toISOString(),
      updatedAt: new Date(updatedAt).toISOString(),
    });
    await resume.claim('main', hash('a'), header('dead', now - 8 * DAY), undefined);
    await resume.claim('main', hash('b'), header('alive', now - 1000), undefined);
    const main = fakeWriter('main', [
      { key: key('a'), uploadId: 'dead', initiated: new Date(now - 9 * DAY) },
      { key: key('b'), uploadId: 'alive', initiated: new Date(now - 9 * DAY) },
      { key: key('c'), uploadId: 'young', initiated: new Date(now - 2 * DAY) },
      { key: 'not/ferry', uploadId: 'foreign', initiated: new Date(now - 90 * DAY) },
    ]);
    const s3rver = fakeWriter('s3rver', undefined);
    const sweeper = new Sweeper({ writers: [main, s3rver], resume, logger: testLogger('uploader'), maxAgeMs: 7 * DAY, intervalMs: 0, leaseMs: 60_000, now: () => now });
    const reports = await sweeper.sweep();
    expect(main.aborted).toEqual(['dead']);
    expect(reports).toEqual([
      { zone: 'main', listed: true, pending: 4, aborted: ['dead'] },
      { zone: 's3rver', listed: false, pending: 0, aborted: [] },
    ]);
    expect(await resume.get('main', hash('a'))).toBeUndefined();
    expect(await resume.get('main', hash('b'))).toBeDefined();
    await sweeper.stop();
  });
});
