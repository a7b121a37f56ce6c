
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline, SlurmSettings } from '../domain/pipeline.js';
import { createHarness, testPipeline, waitFor, type Harness } from '../testing/harness.js';
import { sshdUnavailable, startTestSshd, type TestSshd } from '../testing/sshd.js';

const unavailable = sshdUnavailable();
if (unavailable) console.warn(`Slurm tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('Slurm pipelines over SSH against a local sshd and stand-in Slurm commands', () => {
  let sshd: TestSshd;
  const harnesses: Harness[] = [];
  beforeAll(async () => {
    sshd = await startTestSshd();
  });
  afterAll(() => sshd?.stop());
  afterEach(async () => {
    await Promise.allSettled(harnesses.splice(0).map((h) => h.close()));
  });

  const slurmPipeline = (script: string, overrides: Partial<Pipeline> = {}, slurm: Partial<SlurmSettings> = {}): Pipeline =>
    testPipeline('', {
      command: undefined,
      slurm: { ...sshd.target, script, sbatchArgs: ['--partition=short'], workDir: sshd.work, pollIntervalMs: 150, ...slurm },
      ...overrides,
    });
  const harness = async (pipeline: Pipeline) => {
    const h = await createHarness([pipeline]);
    harnesses.push(h);
    return h;
  };

  it('submits with sbatch, follows the job to its end and reports job.done', async () => {
    const h = await harness(slurmPipeline('#!/bin/bash\n#SBATCH --cpus-per-task=2\necho "processing $FERRY_FILE_RELPATH $FERRY_FILE_SHA256 attempt $FERRY_ATTEMPT"\nsleep 0.3\n'));
    const file = await h.storedFile('cluster.raw', 'for the cluster');
    await h.bus.publish('upload.done', file);
    await waitFor('job.done', () => h.seen('job.done').length === 1 || h.seen('job.failed')[0], { timeoutMs: 30_000 });
    expect(h.seen('job.done')[0]).toMatchObject({ attempt: 1, exitCode: 0, worker: 'w1' });

    const id = (await readFile(join(sshd.state, 'next'), 'utf8')).trim();
    const script = await readFile(join(sshd.state, `${id}.sh`), 'utf8');
    // The header stays first, then Ferry's variables, then the body.
    expect(script.split('\n').slice(0, 3)).toEqual(['#!/bin/bash', '#SBATCH --cpus-per-task=2', '# Set by Ferry for this job:']);
    expect(script).toContain(`export FERRY_FILE_SHA256='${file.sha256}'`);
    expect(script).not.toContain('REDIS_URL');
    const args = (await readFile(join(sshd.state, `${id}.args`), 'utf8')).trim().split('\n');
    expect(args).toEqual(['--parsable', '--job-name=ferry-qc', `--output=${sshd.work}/ferry-qc-%j.out`, '--partition=short']);
    expect(await readFile(join(sshd.work, `ferry-qc-${id}.out`), 'utf8')).toBe(`processing cluster.raw ${file.sha256} attempt 1\n`);
  });

  it('keeps the exit code and the end of the output as the reason, and retries', async () => {
    const h = await harness(slurmPipeline('#!/bin/bash\necho "reading input"\necho "cannot open reference genome" >&2\nexit 3\n', { attempts: 2 }));
    await h.bus.publish('upload.done', await h.storedFile('bad.raw', 'x'));
    await waitFor('a final job.failed', () => h.seen('job.failed').some((e) => e.final), { timeoutMs: 30_000 });
    const failed = h.seen('job.failed');
    expect(failed.map((e) => [e.attempt, e.final, e.exitCode])).toEqual([
      [1, false, 3],
      [2, true, 3],
    ]);
    expect(failed[1]!.error).toBe('exit code 3: reading input\ncannot open reference genome');
  });

  it('cancels a job that runs past its timeout with scancel', async () => {
    const h = await harness(slurmPipeline('#!/bin/bash\necho started\nsleep 60\n', { attempts: 1, timeoutMs: 1500 }));
    await h.bus.publish('upload.done', await h.storedFile('slow.raw', 'x'));
    await waitFor('job.failed', () => h.seen('job.failed').length === 1, { timeoutMs: 30_000 });
    expect(h.seen('job.failed')[0]).toMatchObject({ final: true, exitCode: null, error: 'timed out after 1.5s: started' });
    const id = (await readFile(join(sshd.state, 'next'), 'utf8')).trim();
    await expect(readFile(join(sshd.state, `${id}.cancelled`), 'utf8')).resolves.toBe('');
  });

  it('fails the try with ssh\'s reason when the cluster refuses the connection', async () => {
    const h = await harness(slurmPipeline('true', { attempts: 1 }, { user: 'nobody-here' }));
    await h.bus.publish('upload.done', await h.storedFile('refused.raw', 'x'));
    await waitFor('job.failed', () => h.seen('job.failed').length === 1, { timeoutMs: 30_000 });
    expect(h.seen('job.failed')[0]!.error).toMatch(/^could not run the Slurm job: ssh failed: .*Permission denied/);
  });
});
