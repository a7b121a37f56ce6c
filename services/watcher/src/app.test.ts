import { hashFile } from '@ferry/common/hash';
import { waitFor } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, mkdtemp, open, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { HashFn } from './announcer.js';
import { watcherHarness, type Harness } from './testing/harness.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Whether chmod 000 stops this process from reading (not when running as root). */
async function chmodBlocksReads(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-perm-'));
  const file = join(dir, 'probe');
  await writeFile(file, 'x');
  await chmod(file, 0o000);
  try {
    const handle = await open(file, 'r');
    await handle.close();
    return false;
  } catch {
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('watcher against a real nats-server', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const poll of [false, true]) {
    it(`never announces a writer pausing shorter than the window early, and announces it once (${poll ? 'polling' : 'native events'})`, async () => {
      h = await watcherHarness();
      await h.start(h.config({ WATCH_POLL: String(poll), WATCH_POLL_INTERVAL: '100ms' }));
      const file = join(h.dir, 'run-1.raw');
      const parts: Buffer[] = [];
      let lastWrite = 0;
      // Pauses up to just under the 600 ms window.
      for (const pause of [300, 550, 100, 500, 0]) {
        const part = Buffer.alloc(1000 + parts.length, parts.length + 1);
        parts.push(part);
        await appendFile(file, part);
        lastWrite = Date.now();
        await sleep(pause);
      }
      await waitFor('file.detected', () => h!.seen.length > 0, { timeoutMs: 15_000 });
      await sleep(800);
      expect(h.seen).toHaveLength(1);
      const [first] = h.seen;
      expect(first!.at).toBeGreaterThanOrEqual(lastWrite + 600);
      expect(first!.event).toMatchObject({ path: 'run-1.raw', kind: 'file', size: Buffer.concat(parts).length, sha256: sha(Buffer.concat(parts)), instrument: 'ms1', root: h.dir });
    });
  }

  it('announces nothing for a file deleted, or renamed away, before it is stable, nor for an empty one', async () => {
    h = await watcherHarness();
    const outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
    await h.start(h.config());
    await writeFile(join(h.dir, 'empty.raw'), '');
    await writeFile(join(h.dir, 'gone.raw'), 'x');
    await writeFile(join(h.dir, 'hidden.raw'), 'y');
    await writeFile(join(h.dir, 'away.raw'), 'z');
    await mkdir(join(h.dir, 'sub'));
    await writeFile(join(h.dir, 'sub', 'dir-gone.raw'), 'w');
    await sleep(250);
    await rm(join(h.dir, 'gone.raw'));
    await rename(join(h.dir, 'hidden.raw'), join(h.dir, '.hidden.raw'));
    await rename(join(h.dir, 'away.raw'), join(outside, 'away.raw'));
    await rm(join(h.dir, 'sub'), { recursive: true });
    await writeFile(join(h.dir, 'marker.raw'), 'marker');
    await waitFor('the marker file', () => h!.seen.some((s) => s.event.path === 'marker.raw'), { timeoutMs: 15_000 });
    await sleep(800);
    expect(h.paths()).toEqual(['marker.raw']);
    await rm(outside, { recursive: true, force: true });
  });

  it('after a restart neither re-hashes nor re-announces; new content under an old name is new, the same content twice is one', async () => {
    h = await watcherHarness();
    const hashed: string[] = [];
    const counting: HashFn = (path, o) => {
      hashed.push(path);
      return hashFile(path, o);
    };
    await writeFile(join(h.dir, 'a.raw'), 'first');
    await mkdir(join(h.dir, 'sub'));
    await writeFile(join(h.dir, 'sub', 'b.raw'), 'second');
    const config = h.config();
    const first = await h.start(config, { hash: counting });
    await waitFor('two files', () => h!.seen.length === 2, { timeoutMs: 15_000 });
    await first.stop();
    expect(hashed).toHaveLength(2);

    const second = await h.start(config, { hash: counting });
    await sleep(1500);
    expect(h.seen).toHaveLength(2);
    expect(hashed).toHaveLength(2);
    expect(second.stats()).toMatchObject({ announced: 0, known: 2 });

    await writeFile(join(h.dir, 'a.raw'), 'first, then rewritten');
    await waitFor('the rewritten file', () => h!.seen.length === 3, { timeoutMs: 15_000 });
    const [old, rewritten] = h.seen.filter((s) => s.event.path === 'a.raw');
    expect(rewritten!.event.fileId).not.toBe(old!.event.fileId);
    expect(rewritten!.event.sha256).toBe(sha('first, then rewritten'));

    // The same content again, under another name and under the old name: one acquisition.
    await writeFile(join(h.dir, 'copy-of-b.raw'), 'second');
    await writeFile(join(h.dir, 'a.raw'), 'first');
    await waitFor('both settled as duplicates', () => second.stats().duplicates === 2, { timeoutMs: 15_000 });
    await sleep(300);
    expect(h.seen).toHaveLength(3);
  });

  it('restarting in the middle of hashing loses and duplicates nothing, and does not hash finished members again', async () => {
    h = await watcherHarness();
    const content = { 'a.raw': 'alpha', 'b.raw': 'bravo' };
    for (const [name, text] of Object.entries(content)) await writeFile(join(h.dir, name), text);
    await mkdir(join(h.dir, 'x.d'));
    for (const member of ['analysis.tdf', 'analysis.tdf_bin', 'chromatography-data.sqlite']) await writeFile(join(h.dir, 'x.d', member), `member ${member}`);
    const config = h.config({ WATCH_HASH_CONCURRENCY: '1', WATCH_STABLE: '300ms' });
    const slowCalls: string[] = [];
    // Small files are read many at once: the frames file takes longest, so the others are
    // done (and journaled) while it is still being read.
    const slow: HashFn = async (path, o) => {
      slowCalls.push(path);
      await sleep(path.endsWith('analysis.tdf_bin') ? 10_000 : 300, undefined, { signal: o.signal });
      return hashFile(path, o);
    };
    const first = await h.start(config, { hash: slow });
    const inv = first.instruments[0]!.inventory.state;
    await waitFor('two members hashed and the third being read', () => inv.pendingMembers.size === 2 && first.stats().hashing > 0, { timeoutMs: 20_000 });
    await first.stop();
    const announcedBefore = first.stats().announced;
    const membersDone = [...inv.pendingMembers.keys()];
    expect(membersDone.length).toBeGreaterThan(0);

    const fastCalls: string[] = [];
    const second = await h.start(config, {
      hash: (path, o) => {
        fastCalls.push(path);
        return hashFile(path, o);
      },
    });
    await waitFor('all three acquisitions', () => h!.seen.length >= 3, { timeoutMs: 20_000 });
    await sleep(700);
    expect(h.paths()).toEqual(['a.raw', 'b.raw', 'x.d']);
    expect(announcedBefore + second.stats().announced).toBe(3);
    for (const member of membersDone) expect(fastCalls).not.toContain(join(h.dir, member));
    expect(fastCalls).toContain(join(h.dir, 'x.d', 'analysis.tdf_bin'));
    const folder = h.seen.find((s) => s.event.path === 'x.d')!.event;
    expect(folder.manifest).toHaveLength(3);
  });

  it('reports an unreadable file in the heartbeat and retries it, without stopping', async () => {
    h = await watcherHarness();
    const real = await chmodBlocksReads();
    // As root, chmod 000 blocks nothing: the hash function then refuses files without read
    // bits as the kernel would for anyone else, so the watcher sees the same EACCES.
    const hash: HashFn | undefined = real
      ? undefined
      : async (path, o) => {
          if (((await stat(path)).mode & 0o444) === 0) throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
          return hashFile(path, o);
        };
    const locked = join(h.dir, 'locked.raw');
    await writeFile(locked, 'secret data');
    await chmod(locked, 0o000);
    await writeFile(join(h.dir, 'fine.raw'), 'fine');
    const w = await h.start(h.config({ WATCH_RETRY_UNREADABLE: '500ms', WATCH_STABLE: '300ms' }), { hash });
    const beat = await waitFor('a heartbeat naming the unreadable file', () => {
      const b = h!.beats.get('ms1-test');
      return b && b.details.unreadable === 1 && b.details.unreadablePath === 'locked.raw' ? b : undefined;
    }, { timeoutMs: 15_000 });
    expect(String(beat.details.unreadableError)).toMatch(/EACCES|permission denied/);
    expect(beat.disks[0]).toMatchObject({ path: h.dir });
    expect(beat.disks[0]!.totalBytes).toBeGreaterThan(0);
    // The heartbeat can name the locked file before the readable one has been announced.
    await waitFor('the readable file', () => h!.seen.some((s) => s.event.path === 'fine.raw'), { timeoutMs: 15_000 });
    expect(h.paths()).toEqual(['fine.raw']);
    await sleep(1200);
    expect(w.stats().unreadable).toBe(1);

    await chmod(locked, 0o644);
    await waitFor('the file, once readable', () => h!.seen.some((s) => s.event.path === 'locked.raw'), { timeoutMs: 15_000 });
    await waitFor('a heartbeat with nothing unreadable', () => h!.beats.get('ms1-test')?.details.unreadable === 0, { timeoutMs: 15_000 });
    expect(h.seen.find((s) => s.event.path === 'locked.raw')!.event.sha256).toBe(sha('secret data'));
  });

  it('finds a file copied in with an old mtime through the rescan, when polling would only come much later', async () => {
    h = await watcherHarness();
    const w = await h.start(h.config({ WATCH_POLL: 'true', WATCH_POLL_INTERVAL: '1h', WATCH_RESCAN: '1s', WATCH_STABLE: '300ms' }));
    const outside = await mkdtemp(join(tmpdir(), 'ferry-outside-'));
    await writeFile(join(outside, 'old.raw'), 'from 2020');
    const old = new Date('2020-03-01T12:00:00Z');
    await utimes(join(outside, 'old.raw'), old, old);
    await rename(join(outside, 'old.raw'), join(h.dir, 'old.raw'));
    await waitFor('the old file', () => h!.seen.length === 1, { timeoutMs: 15_000 });
    expect(h.seen[0]!.event).toMatchObject({ path: 'old.raw', mtime: old.toISOString() });
    expect(w.instruments[0]!.details()).toMatchObject({ watchMode: 'poll' });
    await rm(outside, { recursive: true, force: true });
  });
});
