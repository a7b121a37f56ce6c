import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from './redis.js';

describe('redisOptionsFromUrl', () => {
  it('reads host, port, credentials and database, ready for BullMQ workers', () => {
    expect(redisOptionsFromUrl('redis://user:p%40ss@redis.local:6380/2')).toEqual({
      host: 'redis.local',
      port: 6380,
      username: 'user',
      password: 'p@ss',
      db: 2,
      maxRetriesPerRequest: null,
    });
  });

  it('defaults the port, handles IPv6 and turns on TLS for rediss', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null });
    expect(redisOptionsFromUrl('redis://[::1]:7000').host).toBe('::1');
    expect(redisOptionsFromUrl('rediss://:secret@cache.example.com').tls).toEqual({ servername: 'cache.example.com' });
  });

  it('refuses other protocols and a non-numeric database', () => {
    expect(() => redisOptionsFromUrl('http://x')).toThrow(/not a redis URL/);
    expect(() => redisOptionsFromUrl('redis://x/zero')).toThrow(/must be a number/);
  });
});
