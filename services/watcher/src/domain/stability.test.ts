import { describe, expect, it } from 'vitest';
import { isIgnoredName, toEventPath } from './names.js';
import { StabilityTracker } from './stability.js';

describe('StabilityTracker', () => {
  it('calls a file stable only after the whole window without change', () => {
    const t = new StabilityTracker(1000);
    expect(t.observe('a', { size: 10, mtimeMs: 1 }, 0)).toBe('pending');
    expect(t.observe('a', { size: 10, mtimeMs: 1 }, 999)).toBe('pending');
    expect(t.observe('a', { size: 10, mtimeMs: 1 }, 1000)).toBe('stable');
  });

  it('restarts the window when size or mtime changes', () => {
    const t = new StabilityTracker(1000);
    t.observe('a', { size: 10, mtimeMs: 1 }, 0);
    expect(t.observe('a', { size: 20, mtimeMs: 1 }, 900)).toBe('pending');
    expect(t.observe('a', { size: 20, mtimeMs: 1 }, 1800)).toBe('pending');
    expect(t.observe('a', { size: 20, mtimeMs: 2 }, 1850)).toBe('pending');
    expect(t.dueAt('a')).toBe(2850);
    expect(t.observe('a', { size: 20, mtimeMs: 2 }, 2850)).toBe('stable');
  });

  it('never calls an empty file complete', () => {
    const t = new StabilityTracker(100);
    expect(t.observe('e', { size: 0, mtimeMs: 1 }, 0)).toBe('empty');
    expect(t.observe('e', { size: 0, mtimeMs: 1 }, 10_000)).toBe('empty');
  });

  it('forgets deleted paths', () => {
    const t = new StabilityTracker(100);
    t.observe('a', { size: 1, mtimeMs: 1 }, 0);
    t.forget('a');
    expect(t.has('a')).toBe(false);
    expect(t.observe('a', { size: 1, mtimeMs: 1 }, 500)).toBe('pending');
  });
});

describe('names', () => {
  it('ignores hidden and temporary files', () => {
    expect(isIgnoredName('/d/.hidden')).toBe(true);
    expect(isIgnoredName('/d/~$lock.docx')).toBe(true);
    expect(isIgnoredName('/d/run.raw.part')).toBe(true);
    expect(isIgnoredName('/d/run.raw')).toBe(false);
  });

  it('normalises separators', () => {
    expect(toEventPath('a\\b//c.raw')).toBe('a/b/c.raw');
  });
});
