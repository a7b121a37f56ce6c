import { describe, expect, it } from 'vitest';
import { fingerprint, formatMatcher, groupKey, groupLabels, matchesAll, parseMatcher } from './labels.js';

describe('labels', () => {
  it('fingerprints labels whatever their order, and tells different ones apart', () => {
    const a = fingerprint({ alertname: 'disk_low', instance: 'pc1', path: '/data' });
    expect(fingerprint({ path: '/data', instance: 'pc1', alertname: 'disk_low' })).toBe(a);
    expect(fingerprint({ alertname: 'disk_full_forecast', instance: 'pc1', path: '/data' })).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keys groups on the grouping labels the alert has', () => {
    expect(groupKey(groupLabels({ alertname: 'x', instrument: 'ms1', instance: 'pc' }, ['alertname', 'instrument']))).toBe('{}:{alertname="x",instrument="ms1"}');
    expect(groupKey(groupLabels({ alertname: 'x' }, ['alertname', 'instrument']))).toBe('{}:{alertname="x"}');
  });

  it('parses and applies Alertmanager matchers', () => {
    const labels = { alertname: 'file_stuck', instrument: 'ms12' };
    expect(matchesAll([parseMatcher('alertname="file_stuck"'), parseMatcher('instrument=~"ms1.*"')], labels)).toBe(true);
    expect(matchesAll([parseMatcher('instrument=~"ms1"')], labels)).toBe(false); // anchored
    expect(matchesAll([parseMatcher('instrument!="ms12"')], labels)).toBe(false);
    expect(matchesAll([parseMatcher('zone!~".+"')], labels)).toBe(true); // missing label is empty
    expect(matchesAll([parseMatcher('instrument = ms12')], labels)).toBe(true);
    expect(matchesAll([], labels)).toBe(false);
    expect(formatMatcher(parseMatcher('instrument=~"ms.*"'))).toBe('instrument=~"ms.*"');
    expect(() => parseMatcher('not a matcher')).toThrow(/not a matcher/);
    expect(() => parseMatcher('a=~"("')).toThrow();
  });
});
