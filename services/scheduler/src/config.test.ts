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
});
