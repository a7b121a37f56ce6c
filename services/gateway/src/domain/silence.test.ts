import { describe, expect, it } from 'vitest';
import { silenceState } from './silence.js';

describe('silences', () => {
  it('tells pending, active and expired apart', () => {
    const now = new Date('2025-01-01T12:00:00Z');
    expect(silenceState(new Date('2025-01-01T13:00:00Z'), new Date('2025-01-01T14:00:00Z'), now)).toBe('pending');
    expect(silenceState(new Date('2025-01-01T11:00:00Z'), new Date('2025-01-01T14:00:00Z'), now)).toBe('active');
    expect(silenceState(new Date('2025-01-01T11:00:00Z'), now, now)).toBe('expired');
  });
});
