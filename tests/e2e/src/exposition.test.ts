import { describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from './exposition.js';

const good = [
  '# HELP ferry_x_total Things, "quoted" and \\\\ escaped.',
  '# TYPE ferry_x_total counter',
  'ferry_x_total{kind="a",path="C:\\\\data\\"x\\"\\n"} 3',
  'ferry_x_total{kind="b"} 4e+0',
  '# HELP ferry_d Depth.',
  '# TYPE ferry_d gauge',
  'ferry_d NaN',
  '# TYPE ferry_s histogram',
  'ferry_s_bucket{le="0.1",zone="z"} 1',
  'ferry_s_bucket{le="1",zone="z"} 2',
  'ferry_s_bucket{le="+Inf",zone="z"} 2',
  'ferry_s_sum{zone="z"} 0.7',
  'ferry_s_count{zone="z"} 2',
  '',
].join('\n');

describe('the strict exposition parser used by the metrics test', () => {
  it('reads families, labels with escapes, special values and histograms', () => {
    const families = parseExposition(good);
    expect(families.get('ferry_x_total')).toMatchObject({ type: 'counter', help: 'Things, "quoted" and \\\\ escaped.' });
    expect(families.get('ferry_x_total')!.samples[0]!.labels).toEqual({ kind: 'a', path: 'C:\\data"x"\n' });
    expect(sampleValue(families, 'ferry_x_total', { kind: 'b' })).toBe(4);
    expect(sampleValue(families, 'ferry_d')).toBeNaN();
    expect(sampleValue(families, 'ferry_s_count', { zone: 'z' })).toBe(2);
    expect(() => sampleValue(families, 'ferry_x_total')).toThrow(/found 2/);
  });

  const broken: [string, string, RegExp][] = [
    ['a sample without TYPE', 'ferry_y 1\n', /undeclared family/],
    ['a value that is not a number', '# TYPE ferry_y gauge\nferry_y one\n', /malformed sample/],
    ['a space in labels', '# TYPE ferry_y gauge\nferry_y{a="1", b="2"} 1\n', /malformed labels/],
    ['an unquoted label', '# TYPE ferry_y gauge\nferry_y{a=1} 1\n', /malformed labels/],
    ['a series twice', '# TYPE ferry_y gauge\nferry_y{a="1"} 1\nferry_y{a="1"} 2\n', /series twice/],
    ['a TYPE after samples', '# TYPE ferry_y gauge\nferry_y 1\n# TYPE ferry_y counter\n', /after its samples or twice/],
    ['two HELP lines', '# HELP ferry_y a\n# HELP ferry_y b\n', /second HELP/],
    ['an unknown type', '# TYPE ferry_y meter\n', /unknown TYPE/],
    ['buckets that decrease', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n', /decrease/],
    ['a count unlike +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 2\n', /count 2/],
    ['a missing final newline', '# TYPE ferry_y gauge\nferry_y 1', /newline/],
  ];
  for (const [what, text, error] of broken) {
    it(`refuses ${what}`, () => {
      expect(() => parseExposition(text)).toThrow(error);
    });
  }
});
