import { describe, expect, it } from 'vitest';
import { formatMatcher, matchesEverything, parseMatcher, parseMatcherText, regexProblem } from './matchers.js';

describe('label matchers', () => {
  it('parses the four operators, quoted or not', () => {
    expect(parseMatcherText('alertname="disk_low"')).toEqual({ name: 'alertname', value: 'disk_low', isRegex: false, isEqual: true });
    expect(parseMatcherText(' instrument =~ ms.* ')).toEqual({ name: 'instrument', value: 'ms.*', isRegex: true, isEqual: true });
    expect(parseMatcherText('severity!="info"')).toEqual({ name: 'severity', value: 'info', isRegex: false, isEqual: false });
    expect(parseMatcherText('path!~"/tmp/.*"')).toEqual({ name: 'path', value: '/tmp/.*', isRegex: true, isEqual: false });
    expect(parseMatcherText('a="say \\"hi\\""')).toMatchObject({ value: 'say "hi"' });
    expect(parseMatcherText('no operator')).toMatch(/is not a matcher/);
    expect(parseMatcherText('1a="b"')).toMatch(/is not a matcher/);
    expect(formatMatcher({ name: 'a', value: 'x"y', isRegex: true, isEqual: false })).toBe('a!~"x\\"y"');
  });

  it('finds bad regexes and matchers that would silence everything', () => {
    expect(regexProblem('(ms')).toMatch(/not a valid regular expression/);
    expect(regexProblem('ms.*')).toBeUndefined();
    expect(matchesEverything([{ name: 'a', value: '.*', isRegex: true, isEqual: true }])).toBe(true);
    expect(matchesEverything([{ name: 'a', value: 'x', isRegex: false, isEqual: false }])).toBe(true);
    expect(matchesEverything([{ name: 'a', value: '', isRegex: false, isEqual: true }])).toBe(true);
    expect(matchesEverything([{ name: 'a', value: 'x', isRegex: false, isEqual: false }, { name: 'b', value: 'y', isRegex: false, isEqual: true }])).toBe(false);
    expect(matchesEverything([{ name: 'a', value: '.+', isRegex: true, isEqual: true }])).toBe(false);
  });

  it('parseMatcher throws what parseMatcherText explains, and on a bad regex', () => {
    expect(() => parseMatcher('not a matcher')).toThrow(/not a matcher/);
    expect(() => parseMatcher('a=~"(ms"')).toThrow();
  });
});
