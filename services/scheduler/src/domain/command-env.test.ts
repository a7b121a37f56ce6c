import { describe, expect, it } from 'vitest';
import { buildCommandEnv, type JobFacts } from './command-env.js';

const job: JobFacts = {
  jobId: 'qc-v1-f1',
  pipeline: 'qc',
  attempt: 2,
  fileId: 'f1',
  instrument: 'ms1',
  path: '2024/run 1.raw',
  sha256: 'a'.repeat(64),
  size: 1234,
  zone: 'default',
  key: `sha256/aa/aa/${'a'.repeat(64)}`,
};

describe('buildCommandEnv', () => {
  it('adds the FERRY_* variables to the inherited environment', () => {
    const env = buildCommandEnv({ base: { PATH: '/usr/bin', HOME: '/root' }, job, localPath: '/data/ms1/2024/run 1.raw', traceparent: '00-abc-def-01' });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      FERRY_FILE_ID: 'f1',
      FERRY_FILE_PATH: '/data/ms1/2024/run 1.raw',
      FERRY_FILE_RELPATH: '2024/run 1.raw',
      FERRY_FILE_SHA256: 'a'.repeat(64),
      FERRY_FILE_SIZE: '1234',
      FERRY_INSTRUMENT: 'ms1',
      FERRY_ZONE: 'default',
      FERRY_KEY: job.key,
      FERRY_PIPELINE: 'qc',
      FERRY_JOB_ID: 'qc-v1-f1',
      FERRY_ATTEMPT: '2',
      TRACEPARENT: '00-abc-def-01',
    });
  });

  it("keeps the worker's own connection secrets from the command", () => {
    const env = buildCommandEnv({ base: { PATH: '/usr/bin', NATS_PASSWORD: 'pw', REDIS_URL: 'redis://:pw@h', DATABASE_URL: 'postgres://u:pw@h/db', LAB_TOKEN: 'kept' }, job });
    expect(env.NATS_PASSWORD).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.LAB_TOKEN).toBe('kept');
  });

  it('never lets inherited file or trace variables through', () => {
    const env = buildCommandEnv({ base: { FERRY_FILE_PATH: '/stale', FERRY_FILE_ID: 'old', TRACEPARENT: 'old', FERRY_INSTANCE: 'w1', UNSET: undefined }, job });
    expect(env.FERRY_FILE_PATH).toBeUndefined();
    expect(env.TRACEPARENT).toBeUndefined();
    expect(env.FERRY_FILE_ID).toBe('f1');
    expect(env.FERRY_INSTANCE).toBe('w1');
    expect('UNSET' in env).toBe(false);
  });
});
