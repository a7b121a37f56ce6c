import { describe, expect, it } from 'vitest';
import { formatMatcher, matchesEverything, parseMatcherText, regexProblem, silenceState } from './silence.js';

describe('silence matchers', () => {
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

  it('tells pending, active and expired apart', () => {
    const now = new Date('2025-01-01T12:00:00Z');
    expect(silenceState(new Date('2025-01-01T13:00:00Z'), new Date('2025-01-01T14:00:00Z'), now)).toBe('pending');
    expect(silenceState(new Date('2025-01-01T11:00:00Z'), new Date('2025-01-01T14:00:00Z'), now)).toBe('active');
    expect(silenceState(new Date('2025-01-01T11:00:00Z'), now, now)).toBe('expired');
  });
});
