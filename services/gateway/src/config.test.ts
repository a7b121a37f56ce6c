import { ConfigError } from '@ferry/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://ferry@127.0.0.1:5432/ferry', ZONE_BUCKET: 'ferry-data' };

describe('loadConfig', () => {
  it('applies defaults', () => {
    const config = loadConfig(base);
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(config.zone).toMatchObject({ name: 'default', kind: 's3', bucket: 'ferry-data' });
  });

  it('reads the port, host and a local zone', () => {
    const config = loadConfig({ DATABASE_URL: base.DATABASE_URL, PORT: '9000', HOST: '127.0.0.1', ZONE_KIND: 'local', ZONE_NAME: 'pool', ZONE_DIR: '/srv/pool' });
    expect(config.PORT).toBe(9000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.zone).toEqual({ name: 'pool', kind: 'local', dir: '/srv/pool', prefix: '' });
  });

  it('names every bad setting', () => {
    expect(() => loadConfig({ PORT: '70000', ZONE_BUCKET: 'b' })).toThrowError(ConfigError);
    try {
      loadConfig({ PORT: '70000', ZONE_BUCKET: 'b' });
    } catch (err) {
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).toMatch(/DATABASE_URL/);
      expect(issues).toMatch(/PORT/);
    }
  });

  it('refuses a zone without its bucket or folder', () => {
    expect(() => loadConfig({ DATABASE_URL: base.DATABASE_URL })).toThrowError(/ZONE_BUCKET: required/);
    expect(() => loadConfig({ DATABASE_URL: base.DATABASE_URL, ZONE_KIND: 'local' })).toThrowError(/ZONE_DIR: required/);
  });

  it('defaults the web, session, statistics and live settings', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      TRUST_PROXY: false,
      FERRY_COOKIE_SECURE: false,
      SESSION_TTL: 12 * 3_600_000,
      SIGNIN_RATE_LIMIT: 10,
      SIGNIN_RATE_WINDOW: 60_000,
      REQUEST_STATS_FLUSH: 60_000,
      EVENTS_POLL_INTERVAL: 1000,
      EVENTS_HEARTBEAT: 15_000,
      EVENTS_MAX_CLIENTS: 500,
    });
    expect(config.METRICS_TOKEN).toBeUndefined();
    expect(config.WEB_DIR).toBeUndefined();
  });

  it('reads them, and refuses bad ones', () => {
    const config = loadConfig({ ...base, TRUST_PROXY: '1', FERRY_COOKIE_SECURE: 'true', SESSION_TTL: '8h', SIGNIN_RATE_LIMIT: '5', METRICS_TOKEN: 'a-long-metrics-token', EVENTS_POLL_INTERVAL: '500ms' });
    expect(config).toMatchObject({ TRUST_PROXY: 1, FERRY_COOKIE_SECURE: true, SESSION_TTL: 8 * 3_600_000, SIGNIN_RATE_LIMIT: 5, METRICS_TOKEN: 'a-long-metrics-token', EVENTS_POLL_INTERVAL: 500 });
    expect(loadConfig({ ...base, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toBe('10.0.0.0/8, 127.0.0.1');
    expect(() => loadConfig({ ...base, SESSION_TTL: '10s' })).toThrowError(/SESSION_TTL/);
    expect(() => loadConfig({ ...base, METRICS_TOKEN: 'short' })).toThrowError(/METRICS_TOKEN: .*\(got a value\)/);
    expect(() => loadConfig({ ...base, FERRY_COOKIE_SECURE: 'maybe' })).toThrowError(/FERRY_COOKIE_SECURE/);
  });
});
