import { describe, expect, it } from 'vitest';
import { selectOrphans, type PendingUpload } from './sweep.js';

const DAY = 86_400_000;
const now = Date.parse('2026-03-10T12:00:00Z');
const hash = (c: string) => c.repeat(64);
const key = (c: string, prefix = '') => `${prefix}sha256/${c}${c}/${c}${c}/${hash(c)}`;
const upload = (k: string, id: string, ageDays: number): PendingUpload => ({ key: k, uploadId: id, initiated: new Date(now - ageDays * DAY) });

describe('selectOrphans', () => {
  const rules = { now, maxAgeMs: 7 * DAY, prefix: '', active: new Set<string>() };

  it('picks Ferry uploads older than the limit', () => {
    const uploads = [upload(key('a'), 'old', 8), upload(key('b'), 'young', 6), upload(key('c'), 'edge', 7)];
    expect(selectOrphans(uploads, rules).map((u) => u.uploadId)).toEqual(['old']);
  });

  it('never touches keys outside the content layout or the zone prefix', () => {
    const uploads = [
      upload('backups/db.dump', 'foreign', 30),
      upload(key('a', 'other/'), 'other-prefix', 30),
      upload(key('b', 'raw/'), 'mine', 30),
      upload(`raw/sha256/bb/bb/${'b'.repeat(63)}`, 'short-hash', 30),
    ];
    expect(selectOrphans(uploads, { ...rules, prefix: '/raw/' }).map((u) => u.uploadId)).toEqual(['mine']);
    expect(selectOrphans(uploads, rules).map((u) => u.uploadId)).toEqual([]);
  });

  it('spares an old upload that an uploader is still working on', () => {
    const uploads = [upload(key('a'), 'slow-but-alive', 9), upload(key('b'), 'dead', 9)];
    expect(selectOrphans(uploads, { ...rules, active: new Set(['slow-but-alive']) }).map((u) => u.uploadId)).toEqual(['dead']);
  });
});
