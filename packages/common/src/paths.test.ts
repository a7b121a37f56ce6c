import { describe, expect, it } from 'vitest';
import { parseInstrumentRoots } from './config.js';
import { instrumentFilePath } from './paths.js';

describe('instrumentFilePath', () => {
  it('joins a relative path below the folder', () => {
    expect(instrumentFilePath('/data/ms1/', 'a/b.raw')).toBe('/data/ms1/a/b.raw');
    expect(instrumentFilePath('/data/ms1', 'a\\b.raw')).toBe('/data/ms1/a/b.raw');
  });

  it('refuses paths that leave the folder', () => {
    expect(() => instrumentFilePath('/data/ms1', '../ms2/run.raw')).toThrow(/leaves the instrument folder/);
    expect(() => instrumentFilePath('/data/ms1', 'a/../../x')).toThrow(/leaves/);
    expect(() => instrumentFilePath('/data/ms1', '.')).toThrow(/leaves/);
    expect(() => instrumentFilePath('/data/ms1', '/etc/passwd')).toThrow(/relative/);
    expect(() => instrumentFilePath('data/ms1', 'run.raw')).toThrow(/absolute/);
  });
});

describe('parseInstrumentRoots', () => {
  it('parses name=/path pairs, ignoring blanks and spaces', () => {
    expect(parseInstrumentRoots(' ms1=/data/ms1 , scope-2=/mnt/scope 2,')).toEqual({ ms1: '/data/ms1', 'scope-2': '/mnt/scope 2' });
    expect(parseInstrumentRoots('')).toEqual({});
  });

  it('names the bad entry', () => {
    expect(() => parseInstrumentRoots('ms1=/a,ms2')).toThrow(/"ms2"/);
    expect(() => parseInstrumentRoots('ms1=relative')).toThrow(/"ms1=relative"/);
    expect(() => parseInstrumentRoots('ms.1=/a')).toThrow(/not name=/);
    expect(() => parseInstrumentRoots('ms1=/a,ms1=/b')).toThrow(/twice/);
  });
});
