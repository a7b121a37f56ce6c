import { ConfigError } from '@ferry/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { parsePipelinesFile } from './pipelines-file.js';

const defaults = { attempts: 3, backoffMs: 10_000, timeoutMs: 3_600_000, concurrency: 2 };

const example = `
defaults:
  attempts: 4
  backoff: 30s
pools:
  default: { concurrency: 3 }
  cluster: { concurrency: 20, globalConcurrency: 40 }
pipelines:
  - name: qc
    version: 2
    match:
      instruments: [orbitrap1, orbitrap2]
      path: "**/*.raw"
      zones: [default]
    command: run-qc "$FERRY_FILE_PATH"
    timeout: 2h
  - name: assemble
    pool: cluster
    match: { instruments: [seq1] }
    attempts: 2
    slurm:
      host: login.hpc.example.org
      user: ferry
      identityFile: /run/secrets/hpc_key
      knownHostsFile: /etc/ferry/known_hosts
      pollInterval: 15s
      sbatchArgs: [--partition=short]
      script: |
        #!/bin/bash
        #SBATCH --cpus-per-task=8
        assemble "$FERRY_FILE_URL"
`;

describe('pipelines file', () => {
  it('parses pipelines, pools and defaults', () => {
    const parsed = parsePipelinesFile(example, 'pipelines.yml', defaults);
    if (Array.isArray(parsed)) throw new Error(parsed.join('\n'));
    expect(parsed.pools).toEqual({ default: { concurrency: 3 }, cluster: { concurrency: 20, globalConcurrency: 40 } });
    expect(parsed.pipelines[0]).toEqual({
      name: 'qc',
      version: 2,
      pool: 'default',
      match: { instruments: ['orbitrap1', 'orbitrap2'], pathPattern: '**/*.raw', zones: ['default'] },
      command: 'run-qc "$FERRY_FILE_PATH"',
      attempts: 4,
      backoffMs: 30_000,
      timeoutMs: 7_200_000,
    });
    expect(parsed.pipelines[1]).toMatchObject({
      name: 'assemble',
      version: 1,
      pool: 'cluster',
      attempts: 2,
      backoffMs: 30_000,
      timeoutMs: 3_600_000,
      slurm: { host: 'login.hpc.example.org', port: 22, user: 'ferry', pollIntervalMs: 15_000, sbatchArgs: ['--partition=short'], workDir: '.ferry/slurm' },
    });
    expect(parsed.pipelines[1]!.slurm!.script).toContain('#SBATCH --cpus-per-task=8');
  });

  it('names the file and every bad field', () => {
    const bad = `
pipelines:
  - name: qc
    command: x
    slurm: { host: h, script: s }
  - name: qc
    match: { path: "/(oops/", instrument: [ms1] }
    command: y
    timeout: soon
  - name: ok
    slurm: { script: s, pollInterval: 10ms }
`;
    const issues = parsePipelinesFile(bad, '/etc/ferry/pipelines.yml', defaults);
    expect(Array.isArray(issues)).toBe(true);
    const text = (issues as string[]).join('\n');
    for (const expected of [
      '/etc/ferry/pipelines.yml: pipelines[0].command: needs exactly one of command and slurm',
      '/etc/ferry/pipelines.yml: pipelines[1].match.path: must be a glob',
      '/etc/ferry/pipelines.yml: pipelines[1].match: Unrecognized key: "instrument"',
      '/etc/ferry/pipelines.yml: pipelines[1].timeout: must be a duration',
      '/etc/ferry/pipelines.yml: pipelines[2].slurm.host:',
      '/etc/ferry/pipelines.yml: pipelines[2].slurm.pollInterval: must be at least 100ms',
    ]) {
      expect(text).toContain(expected);
    }
    const dup = parsePipelinesFile('pipelines:\n  - { name: a, command: x }\n  - { name: a, command: y }\n', 'p.yml', defaults) as string[];
    expect(dup).toEqual(['p.yml: pipelines[1].name: pipeline a is listed twice']);
  });

  it('reports YAML syntax errors with the line', () => {
    const issues = parsePipelinesFile('pipelines:\n  - name: a\n   command: [x\n', 'p.yml', defaults) as string[];
    expect(issues[0]).toMatch(/^p\.yml: line \d+: /);
  });
});

describe('loadConfig with PIPELINES_FILE', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-pipelines-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('takes pipelines and pools from the file', async () => {
    const file = join(dir, 'good.yml');
    await writeFile(file, example);
    const c = loadConfig({ FERRY_INSTANCE: 'x', PIPELINES_FILE: file, JOB_CONCURRENCY: '5' });
    expect(c.pipelines.map((p) => p.name)).toEqual(['qc', 'assemble']);
    expect(c.pools).toEqual([
      { name: 'default', concurrency: 3 },
      { name: 'cluster', concurrency: 20, globalConcurrency: 40 },
    ]);
  });

  it('stops with the file and field named, and refuses PIPELINE_COMMAND beside it', async () => {
    const file = join(dir, 'bad.yml');
    await writeFile(file, 'pipelines:\n  - name: qc\n    command: x\n    pool: "bad pool"\n');
    let error: unknown;
    try {
      loadConfig({ FERRY_INSTANCE: 'x', PIPELINES_FILE: file, PIPELINE_COMMAND: 'true' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join('\n');
    expect(issues).toContain(`PIPELINES_FILE: ${file}: pipelines[0].pool: letters, digits`);
    expect(issues).toContain('PIPELINE_COMMAND: cannot be combined with PIPELINES_FILE');
    expect(() => loadConfig({ FERRY_INSTANCE: 'x', PIPELINES_FILE: join(dir, 'missing.yml') })).toThrow(/missing\.yml: cannot be read \(ENOENT\)/);
  });
});
