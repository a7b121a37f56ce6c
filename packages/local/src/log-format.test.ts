import { describe, expect, it } from 'vitest';
import { formatLogLine } from './log-format.js';

describe('formatLogLine', () => {
  it('shortens pino lines', () => {
    const line = JSON.stringify({ level: 30, time: '2026-11-23T08:00:01.123Z', service: 'uploader', msg: 'stored', key: 'sha256/ab', trace_id: 't1' });
    expect(formatLogLine('uploader', line)).toBe('08:00:01 uploader  info  stored  key=sha256/ab trace_id=t1');
  });

  it('passes other lines through', () => {
    expect(formatLogLine('watcher', 'plain text')).toBe('watcher   plain text');
  });
});
