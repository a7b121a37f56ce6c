import { describe, expect, it } from 'vitest';
import { contentKey, EVENTS, eventForSubject, fileIdFor, subjectMatches } from './events.js';

describe('event catalog', () => {
  it('maps subjects to events, including wildcards', () => {
    expect(eventForSubject('file.detected.orbitrap1')).toBe('file.detected');
    expect(eventForSubject('heartbeat.watcher.pc-7')).toBe('heartbeat');
    expect(eventForSubject('backup.completed')).toBe('backup.completed');
    expect(eventForSubject('job.done.proteomics')).toBe('job.done');
    expect(eventForSubject('file.detected')).toBeUndefined();
    expect(eventForSubject('nope.x')).toBeUndefined();
  });

  it('matches NATS wildcards', () => {
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
  });

  it('rejects instrument names that would split a subject', () => {
    const base = {
      fileId: 'x',
      instrument: 'bad.name',
      path: 'a.raw',
      root: '/data',
      kind: 'file',
      size: 1,
      sha256: 'a'.repeat(64),
      mtime: new Date().toISOString(),
      detectedAt: new Date().toISOString(),
      watcher: 'w',
    };
    expect(EVENTS['file.detected'].schema.safeParse(base).success).toBe(false);
    expect(EVENTS['file.detected'].schema.safeParse({ ...base, instrument: 'good-name_1' }).success).toBe(true);
  });

  it('gives stable file ids that change with content or name', () => {
    const h = 'b'.repeat(64);
    expect(fileIdFor('i', 'a.raw', h)).toBe(fileIdFor('i', 'a.raw', h));
    expect(fileIdFor('i', 'a.raw', h)).not.toBe(fileIdFor('i', 'b.raw', h));
    expect(fileIdFor('i', 'a.raw', h)).not.toBe(fileIdFor('i', 'a.raw', 'c'.repeat(64)));
  });

  it('builds content addresses under an optional prefix', () => {
    const h = '0123456789abcdef'.repeat(4);
    expect(contentKey(h)).toBe(`sha256/01/23/${h}`);
    expect(contentKey(h, '/lab-a/')).toBe(`lab-a/sha256/01/23/${h}`);
  });
});
