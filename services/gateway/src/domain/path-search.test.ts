import { describe, expect, it } from 'vitest';
import { chooseGrams, gramsOf, PathSample, walkWindow } from './path-search.js';

describe('path search planning', () => {
  it('cuts a text into its distinct three-character runs, separators included', () => {
    expect(gramsOf('Proj-17/').map((g) => [g.text, g.key])).toEqual([
      ['Pro', 'pro'],
      ['roj', 'roj'],
      ['oj-', 'oj-'],
      ['j-1', 'j-1'],
      ['-17', '-17'],
      ['17/', '17/'],
    ]);
    expect(gramsOf('aaaa').map((g) => g.text)).toEqual(['aaa']);
    // Case does not make a run distinct: the index holds lowercased paths.
    expect(gramsOf('AAAaaa').map((g) => g.text)).toEqual(['AAA']);
    expect(gramsOf('ab')).toEqual([]);
    // Runs with characters outside ASCII are left to the full-text test.
    expect(gramsOf('Ünï_123').map((g) => g.text)).toEqual(['_12', '123']);
    expect(gramsOf('a"b{c}').map((g) => g.text)).toEqual(['a"b', '"b{', 'b{c', '{c}']);
  });

  // Every path shares "runs", "sample" and "raw"; the numbers tell them apart.
  const paths = Array.from({ length: 2000 }, (_, i) => `runs/2025-01-${String((i % 28) + 1).padStart(2, '0')}/proj-${i % 50}/sample_${i}.raw`);
  const sample = new PathSample(paths);
  const chosen = (q: string) => chooseGrams(q, sample).map((g) => g.text);
  /** How many sampled paths hold every gram chosen for `q`: the candidates the index would return. */
  const candidates = (q: string) => paths.filter((p) => chooseGrams(q, sample).every((g) => p.toLowerCase().includes(g.key))).length;

  it('looks up a few rare runs, never the ones every path has', () => {
    for (const q of ['sample_1234.raw', 'Sample_1999.RAW', 'proj-17/', '2025-01-05/proj-17/', 'proj-17/sample_12']) {
      const grams = chosen(q);
      expect(grams.length, q).toBeGreaterThan(0);
      expect(grams.length, q).toBeLessThanOrEqual(3);
      for (const common of ['sam', 'raw', 'run', 'pro', 'Sam', 'RAW']) expect(grams, q).not.toContain(common);
    }
    expect(chosen('sample_1234.raw').sort()).toEqual(['123', '234']);
    expect(chosen('proj-17/').sort()).toEqual(['-17', 'j-1']);
  });

  it('keeps the order of words: two that are common alone but rare together give few candidates', () => {
    const q = 'proj-17/sample_12';
    // Project 17 is 40 paths of 2000; those whose sample number starts with 12: 1217 and 1267.
    expect(paths.filter((p) => p.includes(q))).toHaveLength(2);
    expect(chosen(q)).toContain('7/s');
    expect(candidates(q)).toBeLessThanOrEqual(4);
    // The dates and projects together, likewise.
    expect(candidates('2025-01-05/proj-17/')).toBeLessThanOrEqual(paths.filter((p) => p.includes('2025-01-05/proj-17/')).length + 3);
  });

  it('looks up nothing when the text is everywhere or has no run', () => {
    expect(chosen('sample')).toEqual([]);
    expect(chosen('ab')).toEqual([]);
    expect(chosen('.d')).toEqual([]);
    expect(chosen('%')).toEqual([]);
  });

  it('looks up one unseen run: the sample holds no path with it', () => {
    expect(chosen('zzzz')).toEqual(['zzz']);
  });

  it('without a sample, looks up at most eight runs spread over the text', () => {
    expect(chooseGrams('proj-17/', undefined).map((g) => g.text)).toEqual(['pro', 'roj', 'oj-', 'j-1', '-17', '17/']);
    const long = chooseGrams('runs/2025-01-05/proj-17/sample_1234.raw', undefined).map((g) => g.text);
    expect(long).toHaveLength(8);
    expect(long[0]).toBe('run');
    expect(long.at(-1)).toBe('raw');
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
