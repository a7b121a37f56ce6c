import { manifestDigest } from '@ferry/common/events';
import { waitFor } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { watcherHarness, type Harness } from './testing/harness.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('vendor rules, two instruments from one YAML file', () => {
  let h: Harness | undefined;
  let other: string | undefined;
  afterEach(async () => {
    await h?.close();
    if (other) await rm(other, { recursive: true, force: true });
    h = undefined;
  });

  it('announces a Bruker .d folder once with its manifest, holds a .wiff for its .wiff.scan, and reports failed acquisitions', async () => {
    h = await watcherHarness();
    other = await mkdtemp(join(tmpdir(), 'ferry-ms2-'));
    const yaml = join(h.stateDir, 'watcher.yaml');
    await writeFile(
      yaml,
      `
stateDir: ${h.stateDir}
heartbeatInterval: 500ms
defaults:
  stable: 500ms
instruments:
  - name: tims1
    folder: ${h.dir}
    rules:
      - use: bruker-d
        mainFileTimeout: 1s
      - thermo-corrupted
      - sciex-wiff
  - name: ms2
    folder: ${other}
    include: ['*.raw']
`,
    );
    const config = loadConfig({ ...h.iso.env, WATCH_CONFIG: yaml });
    const w = await h.start(config);

    // A timsTOF acquisition written over time: analysis.tdf first, the frames in pieces.
    const run = join(h.dir, 'run1.d');
    await mkdir(join(run, 'method.m'), { recursive: true });
    await writeFile(join(run, 'method.m', 'acq.method'), 'method');
    await writeFile(join(run, 'analysis.tdf'), 'sqlite metadata');
    await writeFile(join(run, '.DS_Store'), 'finder junk');
    let lastWrite = 0;
    const frames: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const part = Buffer.alloc(4096, i + 1);
      frames.push(part);
      await appendFile(join(run, 'analysis.tdf_bin'), part);
      lastWrite = Date.now();
      await sleep(300);
    }
    // A .d folder whose data never came, a corrupted Thermo file, a .wiff without its scan file.
    await mkdir(join(h.dir, 'aborted.d', 'method.m'), { recursive: true });
    await writeFile(join(h.dir, 'aborted.d', 'method.m', 'acq.method'), 'method only');
    await writeFile(join(h.dir, 'QC_01_CORRUPTED.raw'), 'broken');
    await writeFile(join(h.dir, 'sample.wiff'), 'wiff header');
    await writeFile(join(other, 'plain.raw'), 'ms2 data');
    await writeFile(join(other, 'notes.txt'), 'not included');

    await waitFor('the .d folder and the ms2 file', () => h!.seen.length >= 2, { timeoutMs: 15_000 });
    const folder = h.seen.find((s) => s.event.path === 'run1.d')!;
    expect(folder.at).toBeGreaterThanOrEqual(lastWrite + 500);
    const manifest = [
      { path: 'analysis.tdf', size: 15, sha256: sha('sqlite metadata') },
      { path: 'analysis.tdf_bin', size: 4 * 4096, sha256: sha(Buffer.concat(frames)) },
      { path: 'method.m/acq.method', size: 6, sha256: sha('method') },
    ];
    expect(folder.event).toMatchObject({ instrument: 'tims1', kind: 'folder', size: 15 + 4 * 4096 + 6, manifest, sha256: manifestDigest(manifest) });
    expect(h.seen.find((s) => s.event.path === 'plain.raw')?.event.instrument).toBe('ms2');

    const failedBeat = await waitFor('a heartbeat with both failures', () => {
      const b = h!.beats.get('tims1-test');
      return b?.details.failed === 2 ? b : undefined;
    }, { timeoutMs: 15_000 });
    expect(failedBeat.details).toMatchObject({ waiting: 1, waitingPath: 'sample.wiff', waitingReason: 'waiting for sample.wiff.scan' });
    const failures = w.instruments[0]!.details();
    expect([failures.failedPath, failures.failedReason]).toEqual(expect.arrayContaining([expect.stringMatching(/aborted\.d|QC_01_CORRUPTED\.raw/)]));
    expect(h.paths()).toEqual(['plain.raw', 'run1.d']);

    await writeFile(join(h.dir, 'sample.wiff.scan'), 'scan data');
    await waitFor('the .wiff and its .wiff.scan', () => h!.seen.length === 4, { timeoutMs: 15_000 });
    expect(h.paths()).toEqual(['plain.raw', 'run1.d', 'sample.wiff', 'sample.wiff.scan']);

    // The main data file arrives late after all: the folder is complete after all.
    await writeFile(join(h.dir, 'aborted.d', 'analysis.baf'), 'late data');
    await waitFor('the late folder', () => h!.seen.some((s) => s.event.path === 'aborted.d'), { timeoutMs: 15_000 });
    await waitFor('one failure left', () => h!.beats.get('tims1-test')?.details.failed === 1, { timeoutMs: 15_000 });
    expect(h.beats.get('tims1-test')!.details.failedPath).toBe('QC_01_CORRUPTED.raw');
    expect(h.beats.get('ms2-test')!.details).toMatchObject({ instrument: 'ms2', failed: 0, announced: 1 });
    expect(h.seen).toHaveLength(5);
  });
});
