import { isPermanent } from '@ferry/common';
import { describe, expect, it } from 'vitest';
import { compilePathPattern, createPipelineMatcher, jobIdFor, type Pipeline } from './pipeline.js';

const pipeline = (name: string, match: Pipeline['match']): Pipeline => ({
  name,
  version: 1,
  pool: 'default',
  match,
  command: 'true',
  attempts: 3,
  backoffMs: 1000,
  timeoutMs: 60_000,
});

describe('compilePathPattern', () => {
  const cases: [string, string, boolean][] = [
    ['*.raw', 'run-1.raw', true],
    ['*.raw', '2024/05/run-1.raw', true],
    ['*.raw', 'run-1.raw.tmp', false],
    ['*.raw', 'run-1.RAW', false],
    ['2024/*.raw', '2024/run.raw', true],
    ['2024/*.raw', '2024/05/run.raw', false],
    ['2024/**/*.raw', '2024/05/06/run.raw', true],
    ['**/*.d', 'sample.d', true],
    ['**/*.d', 'a/b/sample.d', true],
    ['run-?.raw', 'run-7.raw', true],
    ['run-?.raw', 'run-17.raw', false],
    ['run-[0-4].raw', 'run-3.raw', true],
    ['run-[!0-4].raw', 'run-3.raw', false],
    ['*.{raw,mzML}', 'x.mzML', true],
    ['*.{raw,mzML}', 'x.wiff', false],
    ['a+b (1).raw', 'a+b (1).raw', true],
    ['a+b (1).raw', 'aab (1).raw', false],
    ['/\\.raw$/i', 'deep/run.RAW', true],
    ['/^qc\\//', 'qc/run.raw', true],
    ['/^qc\\//', 'samples/qc/run.raw', false],
  ];
  it.each(cases)('%s on %s is %s', (pattern, path, expected) => {
    expect(compilePathPattern(pattern)(path)).toBe(expected);
  });

  it('ignores the g and y flags, which would make test() stateful', () => {
    const match = compilePathPattern('/raw/g');
    expect([match('a.raw'), match('a.raw'), match('a.raw')]).toEqual([true, true, true]);
  });

  it('rejects an invalid regular expression and an unbalanced brace', () => {
    expect(() => compilePathPattern('/(unclosed/')).toThrow();
    expect(() => compilePathPattern('*.{raw')).toThrow(/unbalanced/);
  });
});

describe('createPipelineMatcher', () => {
  it('matches every instrument when the list is empty and every path without a pattern', () => {
    const match = createPipelineMatcher([pipeline('all', { instruments: [] })]);
    expect(match({ instrument: 'ms1', path: 'x.raw' }).map((p) => p.name)).toEqual(['all']);
  });

  it('combines the instrument list and the path pattern, keeping configuration order', () => {
    const match = createPipelineMatcher([
      pipeline('raw-ms', { instruments: ['ms1', 'ms2'], pathPattern: '*.raw' }),
      pipeline('any-ms1', { instruments: ['ms1'] }),
      pipeline('tiff', { instruments: [], pathPattern: '*.tif' }),
    ]);
    expect(match({ instrument: 'ms1', path: 'a/b.raw' }).map((p) => p.name)).toEqual(['raw-ms', 'any-ms1']);
    expect(match({ instrument: 'ms2', path: 'b.raw' }).map((p) => p.name)).toEqual(['raw-ms']);
    expect(match({ instrument: 'ms3', path: 'b.raw' })).toEqual([]);
    expect(match({ instrument: 'scope', path: 'img.tif' }).map((p) => p.name)).toEqual(['tiff']);
  });

  it('matches the zone the file was stored in when the pipeline names zones', () => {
    const match = createPipelineMatcher([pipeline('scratch-only', { instruments: [], zones: ['scratch'] }), pipeline('anywhere', { instruments: [], zones: [] })]);
    expect(match({ instrument: 'ms1', path: 'x.raw', zone: 'scratch' }).map((p) => p.name)).toEqual(['scratch-only', 'anywhere']);
    expect(match({ instrument: 'ms1', path: 'x.raw', zone: 'default' }).map((p) => p.name)).toEqual(['anywhere']);
    expect(match({ instrument: 'ms1', path: 'x.raw' }).map((p) => p.name)).toEqual(['anywhere']);
  });

  it('matches nothing when there are no pipelines', () => {
    expect(createPipelineMatcher([])({ instrument: 'ms1', path: 'x' })).toEqual([]);
  });
});

describe('jobIdFor', () => {
  it('is the pipeline name, version and file id', () => {
    expect(jobIdFor({ name: 'qc', version: 4 }, 'abc123')).toBe('qc-v4-abc123');
  });

  it('changes with the version so a new version runs on old files again', () => {
    expect(jobIdFor({ name: 'qc', version: 1 }, 'f')).not.toBe(jobIdFor({ name: 'qc', version: 2 }, 'f'));
  });

  it('refuses a file id BullMQ cannot use, permanently', () => {
    let caught: unknown;
    try {
      jobIdFor({ name: 'qc', version: 1 }, 'a:b');
    } catch (err) {
      caught = err;
    }
    expect(isPermanent(caught)).toBe(true);
  });
});
