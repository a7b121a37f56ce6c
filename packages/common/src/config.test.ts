import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { commonEnv, databaseEnv, envDuration, parseConfig, parseDuration, redactConfig } from './config.js';
import { ConfigError } from './errors.js';

const schema = z.object({ ...commonEnv, ...databaseEnv, STABLE: envDuration.default(5000) });

describe('parseConfig', () => {
  it('applies defaults and coerces values', () => {
    const config = parseConfig('svc', schema, { DATABASE_URL: 'postgres://u@h/db', STABLE: '2s', LOG_LEVEL: '' });
    expect(config.STABLE).toBe(2000);
    expect(config.LOG_LEVEL).toBe('info');
    expect(config.DATABASE_POOL_MAX).toBe(10);
  });

  it('names every bad or missing setting', () => {
    let error: unknown;
    try {
      parseConfig('svc', schema, { STABLE: 'soon', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('DATABASE_URL');
    expect(message).toContain('not set');
    expect(message).toContain('STABLE');
    expect(message).toContain('"soon"');
    expect(message).toContain('LOG_LEVEL');
  });

  it('parses durations', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
  });

  it('removes secrets before logging', () => {
    const shown = redactConfig({ DATABASE_URL: 'postgres://ferry:hunter2@db/ferry', ZONE_SECRET_ACCESS_KEY: 'abc', ZONE_ACCESS_KEY_ID: 'AKIA' });
    expect(JSON.stringify(shown)).not.toContain('hunter2');
    expect(shown.ZONE_SECRET_ACCESS_KEY).toBe('[redacted]');
    expect(shown.ZONE_ACCESS_KEY_ID).toBe('AKIA');
  });
});
