import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../testing/clock.js';
import { defaultAlertSettings } from '../settings.js';
import { deadLetters } from './dead-letters.js';

const clock = new FakeClock();

describe('dead_letters', () => {
  it('fires per stream and consumer with the last reason', () => {
    const found = deadLetters.evaluate({
      now: clock.ms,
      settings: defaultAlertSettings(),
      snapshot: { deadLetters: [{ stream: 'FILES', consumer: 'uploader', count: 2, lastAt: clock.ms, lastSubject: 'file.detected.ms1', lastError: 'invalid' }] },
    });
    expect(found).toEqual([
      {
        labels: { alertname: 'dead_letters', severity: 'warning', stream: 'FILES', consumer: 'uploader' },
        annotations: { summary: '2 messages of FILES dead-lettered by uploader', description: `Last at ${clock.iso()} on file.detected.ms1: invalid`, count: '2' },
      },
    ]);
  });

  it('is quiet with no recent dead letters', () => {
    expect(deadLetters.evaluate({ now: clock.ms, settings: defaultAlertSettings(), snapshot: { deadLetters: [] } })).toEqual([]);
  });
});
