import { describe, expect, it } from 'vitest';
import { parseInstrumentRoots, sourcePath } from './source-path.js';

describe('instrument roots', () => {
  it('parses a mapping and reports malformed items', () => {
    const roots = parseInstrumentRoots('ms1=/mnt/ms1, ms2=/mnt/ms 2');
    expect(roots).toEqual(new Map([['ms1', '/mnt/ms1'], ['ms2', '/mnt/ms 2']]));
    expect(parseInstrumentRoots('ms1')).toMatch(/not name=/);
    expect(parseInstrumentRoots('ms1=relative/dir')).toMatch(/absolute/);
  });

  it('maps paths through the configured root and refuses escapes', () => {
    const roots = new Map([['ms1', '/mnt/ms1']]);
    expect(sourcePath(roots, 'ms1', '/data/ms1', 'a/b.raw')).toBe('/mnt/ms1/a/b.raw');
    expect(sourcePath(roots, 'ms2', '/data/ms2', 'b.raw')).toBe('/data/ms2/b.raw');
    expect(sourcePath(roots, 'ms1', '/data/ms1', '../etc/passwd')).toBeUndefined();
    expect(sourcePath(roots, 'ms1', '/data/ms1', '/etc/passwd')).toBeUndefined();
  });
});
