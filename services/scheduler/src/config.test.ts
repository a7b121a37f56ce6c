import { ConfigError } from '@ferry/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { FERRY_INSTANCE: 'core1' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults and no pipeline without a command', () => {
    const c = loadConfig(base);
    expect(c.QUEUE_PREFIX).toBe('ferry');
    expect(c.SCHEDULER_MODE).toBe('all');
    expect(c.JOB_CONCURRENCY).toBe(2);
    expect(c.JOB_ATTEMPTS).toBe(3);
    expect(c.JOB_BACKOFF).toBe(10_000);
    expect(c.JOB_TIMEOUT).toBe(3_600_000);
    expect(c.INSTRUMENT_ROOTS).toEqual({});
    expect(c.pipelines).toEqual([]);
  });

  it('builds one pipeline from the PIPELINE_* and JOB_* variables', () => {
    const c = loadConfig({
      ...base,
      PIPELINE_NAME: 'qc',
      PIPELINE_COMMAND: 'run-qc "$FERRY_FILE_PATH"',
      PIPELINE_INSTRUMENTS: 'ms1, ms2,',
      PIPELINE_PATH_PATTERN: '**/*.raw',
      PIPELINE_POOL: 'gpu',
      PIPELINE_VERSION: '4',
      JOB_ATTEMPTS: '5',
      JOB_BACKOFF: '30s',
      JOB_TIMEOUT: '2h',
      INSTRUMENT_ROOTS: 'ms1=/data/ms1,ms2=/data/ms2',
    });
    expect(c.pipelines).toEqual([
      {
        name: 'qc',
        version: 4,
        pool: 'gpu',
        match: { instruments: ['ms1', 'ms2'], pathPattern: '**/*.raw' },
        command: 'run-qc "$FERRY_FILE_PATH"',
        attempts: 5,
        backoffMs: 30_000,
        timeoutMs: 7_200_000,
      },
    ]);
    expect(c.INSTRUMENT_ROOTS).toEqual({ ms1: '/data/ms1', ms2: '/data/ms2' });
  });

  it('treats empty variables as unset', () => {
    const c = loadConfig({ ...base, PIPELINE_COMMAND: '', PIPELINE_INSTRUMENTS: '', JOB_TIMEOUT: '' });
    expect(c.pipelines).toEqual([]);
    expect(c.JOB_TIMEOUT).toBe(3_600_000);
  });

  it('accepts worker mode without a pipeline, so a deployment profile can start before one is set', () => {
    const c = loadConfig({ ...base, SCHEDULER_MODE: 'worker' });
    expect(c.SCHEDULER_MODE).toBe('worker');
    expect(c.pipelines).toEqual([]);
  });

  it('names every bad variable at once', () => {
    const issues = configError({
      ...base,
      SCHEDULER_MODE: 'both',
      PIPELINE_NAME: 'qc.v2',
      PIPELINE_PATH_PATTERN: '/(unclosed/',
      PIPELINE_INSTRUMENTS: 'ms1,bad name',
      JOB_CONCURRENCY: '0',
      JOB_BACKOFF: 'soon',
      JOB_TIMEOUT: '0s',
      INSTRUMENT_ROOTS: 'ms1=relative/path',
      QUEUE_PREFIX: 'a:b',
    }).issues.join('\n');
    for (const name of ['SCHEDULER_MODE', 'PIPELINE_NAME', 'PIPELINE_PATH_PATTERN', 'PIPELINE_INSTRUMENTS', 'JOB_CONCURRENCY', 'JOB_BACKOFF', 'JOB_TIMEOUT', 'INSTRUMENT_ROOTS', 'QUEUE_PREFIX']) {
      expect(issues).toContain(`${name}:`);
    }
  });

  it('turns operations on only when configured, and names what is missing', () => {
    const off = loadConfig(base);
    expect(off.zones).toEqual({ default: undefined, scratch: undefined, backups: undefined });
    expect(off.BACKUP_DATABASE_URL).toBeUndefined();
    expect(off.CANARY_INTERVAL).toBeUndefined();
    expect(off.BACKUP_HOURLY_CRON).toBe('0 * * * *');

    const on = loadConfig({
      ...base,
      BACKUP_DATABASE_URL: 'postgres://ferry@db/ferry',
      BACKUP_ZONE_BUCKET: 'lab-backups',
      BACKUP_ZONE_REGION: 'auto',
      BACKUP_NIGHTLY_CRON: 'off',
      SCRATCH_ZONE_DIR: '/mnt/scratch',
      SCRATCH_RETENTION: '3d',
      CANARY_INTERVAL: '5m',
      CANARY_DIR: '/data/canary',
    });
    expect(on.zones.backups).toMatchObject({ name: 'backups', kind: 's3', bucket: 'lab-backups', region: 'auto' });
    expect(on.zones.scratch).toEqual({ name: 'scratch', kind: 'local', dir: '/mnt/scratch', prefix: '' });
    expect(on.BACKUP_NIGHTLY_CRON).toBeNull();
    expect(on.SCRATCH_RETENTION).toBe(3 * 86_400_000);
    expect(on.CANARY_INTERVAL).toBe(300_000);

    // Cross-setting rules are checked once every variable parses on its own.
    const issues = configError({ ...base, BACKUP_DATABASE_URL: 'postgres://db/ferry', CANARY_INTERVAL: '5m', SCRATCH_ZONE_KIND: 'local', SCRATCH_ZONE_BUCKET: 'b' }).issues.join('\n');
    for (const name of ['CANARY_DIR', 'SCRATCH_ZONE_DIR']) expect(issues).toContain(`${name}:`);
    expect(configError({ ...base, BACKUP_DATABASE_URL: 'postgres://db/ferry', CANARY_DIR: '/x' }).issues.join('\n')).toContain('BACKUP_ZONE_BUCKET: required with BACKUP_DATABASE_URL');
    expect(configError({ ...base, RETENTION_CRON: 'hourly', BACKUP_TZ: 'UTC' }).issues.join('\n')).toContain('RETENTION_CRON: must be a cron pattern');
  });

  it('applies a global limit to the shorthand pipeline\'s pool', () => {
    const c = loadConfig({ ...base, PIPELINE_COMMAND: 'true', PIPELINE_POOL: 'gpu', JOB_CONCURRENCY: '2', JOB_GLOBAL_CONCURRENCY: '3' });
    expect(c.pools).toEqual([{ name: 'gpu', concurrency: 2, globalConcurrency: 3 }]);
    expect(loadConfig({ ...base, PIPELINE_COMMAND: 'true' }).pools).toEqual([{ name: 'default', concurrency: 2 }]);
  });
});
