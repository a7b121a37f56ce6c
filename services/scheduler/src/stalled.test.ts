
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, testPipeline, type Harness, waitFor } from './testing/harness.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

describe('stalled-job recovery', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('finishes on another worker a job whose worker process was killed mid-job', async () => {
    // The first run records its pid and hangs; any later run finishes at once.
    const command = 'if [ ! -f "$FERRY_FILE_PATH.first" ]; then echo $$ > "$FERRY_FILE_PATH.first"; exec sleep 120; fi; echo "$FERRY_WORKER" > "$FERRY_FILE_PATH.second"';
    const h: Harness = await createHarness([testPipeline(command, { attempts: 1, name: 'default' })], { worker: false });
    cleanups.push(() => h.close());

    // A real worker process, as on a worker host, started the way main.ts is.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        ...h.iso.env,
        SCHEDULER_MODE: 'worker',
        FERRY_INSTANCE: 'victim',
        PIPELINE_COMMAND: command,
        JOB_ATTEMPTS: '1',
        INSTRUMENT_ROOTS: `ms1=${h.dir}`,
        JOB_LOCK_DURATION: '2s',
        JOB_STALLED_INTERVAL: '1s',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });

    const file = await h.storedFile('hang.raw', 'x');
    await h.bus.publish('upload.done', file);
    const pid = Number(await waitFor('the victim to run the command', () => readFile(join(h.dir, 'hang.raw.first'), 'utf8').catch(() => undefined), { timeoutMs: 60_000, intervalMs: 100 }));
    // Its command is in a process group of its own: it would outlive the worker.
    cleanups.push(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    expect(h.seen('job.started')).toMatchObject([{ attempt: 1, worker: 'victim' }]);

    child.kill('SIGKILL');
    await waitFor('the victim to be dead', () => child.exitCode !== null || child.signalCode !== null);
    process.kill(-pid, 'SIGKILL');
    await waitFor('the orphaned command to be gone', () => gone(pid));

    // Another worker notices the expired lock, puts the job back and runs it.
    await h.startWorker({ instance: 'rescuer', lockDurationMs: 2000, stalledIntervalMs: 500 });
    await waitFor('job.done from the rescuer', () => h.seen('job.done').length === 1 || h.seen('job.failed')[0], { timeoutMs: 30_000 });
    expect(h.seen('job.done')[0]).toMatchObject({ worker: 'rescuer', attempt: 1 });
    expect(h.seen('job.failed')).toEqual([]);
    expect((await readFile(join(h.dir, 'hang.raw.second'), 'utf8')).trim()).toBe('rescuer');
  });
});
