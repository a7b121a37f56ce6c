import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { instrumentSilent } from './instrument-silent.js';

const clock = new FakeClock();
const HOUR = 3_600_000;

describe('instrument_silent', () => {
  it('is off unless an instrument has a quiet time', () => {
    expect(instrumentSilent.evaluate({ now: clock.ms, settings: defaultAlertSettings(), snapshot: {} })).toEqual([]);
  });

  it('fires when a configured instrument produced nothing for longer than its quiet time', () => {
    const settings = defaultAlertSettings({ instruments: { ms1: { quietTime: '2h' }, ms2: { quietTime: '2h' } } });
    const found = instrumentSilent.evaluate({ now: clock.ms, settings, snapshot: { lastDetections: { ms1: clock.ms - 3 * HOUR, ms2: clock.ms - HOUR }, since: clock.ms - 100 * HOUR } }) ?? [];
    expect(found.map((a) => a.labels)).toEqual([{ alertname: 'instrument_silent', severity: 'warning', instrument: 'ms1' }]);
    expect(found[0]?.annotations.summary).toBe('ms1 has produced no file for 3h');
  });

  it('counts from the first run for an instrument that never produced a file', () => {
    const settings = defaultAlertSettings({ instruments: { ms3: { quietTime: '2h' } } });
    expect(instrumentSilent.evaluate({ now: clock.ms, settings, snapshot: { lastDetections: {}, since: clock.ms - HOUR } })).toEqual([]);
    expect(instrumentSilent.evaluate({ now: clock.ms, settings, snapshot: { lastDetections: {}, since: clock.ms - 3 * HOUR } })).toHaveLength(1);
  });
});
