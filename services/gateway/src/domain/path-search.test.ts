import { describe, expect, it } from 'vitest';
import { chooseLookup, PathSample, trigramsOf, walkWindow, wordsOf } from './path-search.js';

describe('path search planning', () => {
  it('splits and pads like pg_trgm', () => {
    expect(wordsOf('Proj-17/Sample_01.RAW').map((w) => [w.before, w.word, w.after])).toEqual([
      [undefined, 'proj', '-'],
      ['-', '17', '/'],
      ['/', 'sample', '_'],
      ['_', '01', '.'],
      ['.', 'raw', undefined],
    ]);
    expect(trigramsOf('cat')).toEqual(['  c', ' ca', 'cat', 'at ']);
    expect(trigramsOf('sample', { before: false, after: false })).toEqual(['sam', 'amp', 'mpl', 'ple']);
    expect(trigramsOf('17', { before: false, after: true })).toEqual(['17 ']);
    expect(trigramsOf('ab', { before: false, after: false })).toEqual([]);
  });

  // Every path shares "runs", "sample" and "raw"; the numbers tell them apart.
  const paths = Array.from({ length: 2000 }, (_, i) => `runs/2025-01-${String((i % 28) + 1).padStart(2, '0')}/proj-${i % 50}/sample_${i}.raw`);
  const sample = new PathSample(paths);

  it('looks up only the rare word, with its separators, of a text made of common trigrams', () => {
    expect(chooseLookup('sample_1234.raw', sample)).toEqual({ kind: 'parts', texts: ['_1234.'] });
    expect(chooseLookup('Sample_1999.RAW', sample)).toEqual({ kind: 'parts', texts: ['_1999.'] });
    expect(chooseLookup('proj-17/', sample)).toEqual({ kind: 'parts', texts: ['-17/'] });
    // Two common words that are rare together: both are looked up.
    expect(chooseLookup('2025-01-05/proj-17/', sample)).toEqual({ kind: 'parts', texts: ['-05/', '-17/'] });
  });

  it('looks up the full text when it is one word or nothing is known', () => {
    expect(chooseLookup('sample', sample)).toEqual({ kind: 'full' });
    expect(chooseLookup('zzzz', sample)).toEqual({ kind: 'full' });
    expect(chooseLookup('anything_at_all', undefined)).toEqual({ kind: 'full' });
  });

  it('gives up on the index for texts without a trigram', () => {
    expect(chooseLookup('ab', sample)).toEqual({ kind: 'none' });
    expect(chooseLookup('%', sample)).toEqual({ kind: 'none' });
    // A separator before a short word makes a padded trigram ("  d": a word starting with d).
    expect(chooseLookup('.d', sample)).toEqual({ kind: 'full' });
  });

  it('walks the newest files only when the text is common enough to find a page soon', () => {
    expect(sample.containing('SAMPLE_')).toBe(1);
    expect(sample.containing('proj-7/')).toBeCloseTo(0.02, 3);
    expect(sample.containing('nowhere')).toBe(0);
    expect(walkWindow(1, 51, 10_000)).toBe(302);
    expect(walkWindow(0.02, 51, 10_000)).toBe(5300);
    expect(walkWindow(0.002, 51, 10_000)).toBe(0);
    expect(walkWindow(0, 51, 10_000)).toBe(0);
  });
});
