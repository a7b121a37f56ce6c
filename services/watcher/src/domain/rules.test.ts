import { describe, expect, it } from 'vitest';
import { DEFAULT_IGNORE, PathFilter } from './filters.js';
import { fsKind } from './fs-types.js';
import { toEventPath } from './names.js';
import { BUILTIN_RULES, judgeFile, judgeFolder, RuleSet, type FolderRule } from './rules.js';

const rules = new RuleSet(BUILTIN_RULES);
const bruker = rules.folderRule('run.d')!;
const m = (path: string, size = 10) => ({ path, size, mtimeMs: 1 });

describe('completion rules', () => {
  it('never calls a 0-byte file complete, and a non-empty one complete', () => {
    expect(judgeFile('a.raw', 0, [])).toEqual({ state: 'empty' });
    expect(judgeFile('a.raw', 1, [])).toEqual({ state: 'complete' });
  });

  it('maps every path inside a Bruker .d folder to the folder, the top-most one', () => {
    expect(rules.unitOf('2024/run1.d/analysis.tdf_bin')).toMatchObject({ path: '2024/run1.d', isFolder: true, folderRule: { name: 'bruker-d' } });
    expect(rules.unitOf('run1.d/sub/x.d/y')).toMatchObject({ path: 'run1.d' });
    expect(rules.unitOf('RUN2.D/chromatography-data.sqlite')).toMatchObject({ path: 'RUN2.D', isFolder: true });
    // The name alone: a folder acquisition if it is a directory, a file otherwise.
    expect(rules.unitOf('run3.d')).toMatchObject({ path: 'run3.d', isFolder: false, folderRule: { name: 'bruker-d' } });
    expect(rules.unitOf('plain/run.raw')).toMatchObject({ path: 'plain/run.raw', isFolder: false });
  });

  it('completes a timsTOF folder only with both analysis.tdf and analysis.tdf_bin, non-empty', () => {
    expect(judgeFolder(bruker, [m('analysis.tdf'), m('analysis.tdf_bin')])).toEqual({ state: 'complete' });
    expect(judgeFolder(bruker, [m('analysis.tdf')])).toMatchObject({ state: 'waiting', rule: 'bruker-d' });
    expect(judgeFolder(bruker, [m('analysis.tdf'), m('analysis.tdf_bin', 0)])).toMatchObject({ state: 'waiting' });
    expect(judgeFolder(bruker, [m('ANALYSIS.BAF'), m('method.m/submethods.xml')])).toEqual({ state: 'complete' });
    const waiting = judgeFolder(bruker, [m('method.m/x.method')]);
    expect(waiting).toMatchObject({ state: 'waiting', timeoutMs: 30 * 60_000 });
    expect(waiting.state === 'waiting' && waiting.reason).toContain('analysis.tdf + analysis.tdf_bin or analysis.baf');
    expect(judgeFolder(bruker, [])).toMatchObject({ state: 'waiting', reason: expect.stringContaining('empty') });
  });

  it('treats Waters .raw directories as folders, while Thermo .raw files stay files', () => {
    const waters = rules.unitOf('x.raw/_FUNC001.DAT');
    expect(waters).toMatchObject({ path: 'x.raw', folderRule: { name: 'waters-raw' } });
    expect(judgeFolder(waters.folderRule!, [m('_FUNC001.DAT'), m('_HEADER.TXT')])).toEqual({ state: 'complete' });
    expect(rules.unitOf('y.raw').isFolder).toBe(false);
  });

  it('fails Thermo files renamed _CORRUPTED', () => {
    expect(rules.failedName('QC_2024_CORRUPTED.raw')?.name).toBe('thermo-corrupted');
    expect(rules.failedName('qc_corrupted.RAW')).toBeDefined();
    expect(rules.failedName('QC_2024.raw')).toBeUndefined();
  });

  it('holds a Sciex .wiff until its .wiff.scan is there and non-empty', () => {
    const rule = rules.companionRule('sample.wiff')!;
    expect(rule.companions).toEqual(['.scan']);
    expect(judgeFile('sample.wiff', 100, [{ suffix: '.scan', size: undefined }], rule)).toMatchObject({ state: 'waiting', reason: 'waiting for sample.wiff.scan' });
    expect(judgeFile('sample.wiff', 100, [{ suffix: '.scan', size: 0 }], rule)).toMatchObject({ state: 'waiting' });
    expect(judgeFile('sample.wiff', 100, [{ suffix: '.scan', size: 5 }], rule)).toEqual({ state: 'complete' });
    expect(rules.companionRule('sample.wiff.scan')).toBeUndefined();
  });

  it('takes new vendors as data: the first matching rule of a kind wins', () => {
    const agilent: FolderRule = { type: 'folder', name: 'agilent-d', match: '*.d', mainFiles: [['AcqData/MSScan.bin']], mainFileTimeoutMs: 1000 };
    const custom = new RuleSet([agilent, ...BUILTIN_RULES]);
    const unit = custom.unitOf('s.d/AcqData/MSScan.bin');
    expect(unit.folderRule?.name).toBe('agilent-d');
    expect(judgeFolder(unit.folderRule!, [m('AcqData/MSScan.bin')])).toEqual({ state: 'complete' });
    expect(new RuleSet([]).unitOf('s.d/analysis.tdf').path).toBe('s.d/analysis.tdf');
  });
});

describe('PathFilter', () => {
  const filter = new PathFilter({ include: ['*.raw', '*.d', 'exports/**/*.mzML'], exclude: ['archive', 'qc/**'], ignore: [...DEFAULT_IGNORE, '*.sld'] });

  it('ignores hidden, temporary and configured names anywhere in the path', () => {
    for (const p of ['.hidden', 'a/.DS_Store', '~$lock.docx', 'run.raw.part', 'x/Thumbs.db', '$RECYCLE.BIN/x.raw', 'seq.sld', 'd/.tmp/x.raw']) expect(filter.isIgnoredPath(p), p).toBe(true);
    expect(filter.isIgnoredPath('run.raw')).toBe(false);
  });

  it('announces included acquisitions only, matching names anywhere and paths from the root', () => {
    expect(filter.wants('2024/01/RUN.RAW')).toBe(true);
    expect(filter.wants('run.d')).toBe(true);
    expect(filter.wants('exports/a/b.mzML')).toBe(true);
    expect(filter.wants('notes.txt')).toBe(false);
    expect(filter.wants('other/b.mzML')).toBe(false);
  });

  it('leaves out everything below an excluded folder, and does not walk it', () => {
    expect(filter.wants('archive/old.raw')).toBe(false);
    expect(filter.wants('x/archive/old.raw')).toBe(false);
    expect(filter.wants('qc/run.raw')).toBe(false);
    expect(filter.skipsDirectory('archive')).toBe(true);
    expect(filter.skipsDirectory('.snapshot')).toBe(true);
    expect(filter.skipsDirectory('data')).toBe(false);
  });

  it('takes everything when nothing is included explicitly', () => {
    expect(new PathFilter({ include: [], exclude: [], ignore: [] }).wants('any/thing')).toBe(true);
  });
});

describe('file-system types', () => {
  it('recognises network shares by statfs type, sign-extended or not', () => {
    expect(fsKind(0xfe534d42)).toEqual({ name: 'smb2', network: true });
    expect(fsKind(0xff534d42)).toEqual({ name: 'cifs', network: true });
    expect(fsKind(0xff534d42 | 0)).toEqual({ name: 'cifs', network: true });
    expect(fsKind(0x517b)).toEqual({ name: 'smb', network: true });
    expect(fsKind(0x6969)).toEqual({ name: 'nfs', network: true });
    expect(fsKind(0xef53)).toEqual({ name: 'ext4', network: false });
    expect(fsKind(0x12345)).toEqual({ name: '0x12345', network: false });
  });
});

describe('names', () => {
  it('normalises separators', () => {
    expect(toEventPath('a\\b//c.raw')).toBe('a/b/c.raw');
  });
});
