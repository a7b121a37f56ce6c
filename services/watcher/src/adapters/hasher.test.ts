import { hashFile } from '@ferry/common/hash';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFilePipelined } from './hasher.js';

describe('hashFilePipelined', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('gives the same digest and size as common hashFile, at and around chunk boundaries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-hash-'));
    dirs.push(dir);
    for (const size of [0, 1, 1023, 1024, 1025, 4096 + 7, 10 * 1024]) {
      const file = join(dir, `f${size}`);
      await writeFile(file, randomBytes(size));
      const expected = await hashFile(file, { chunkBytes: 1024 });
      expect(await hashFilePipelined(file, { chunkBytes: 1024 }), `size ${size}`).toMatchObject({ ...expected, after: { size } });
      expect(await hashFilePipelined(file, { chunkBytes: 1024, expectedSize: size }), `size ${size}`).toMatchObject(expected);
    }
  });

  it('reads a file that grew past the size it was expected to have, and reports its size after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-hash-'));
    dirs.push(dir);
    const file = join(dir, 'grown');
    await writeFile(file, randomBytes(3000));
    const result = await hashFilePipelined(file, { chunkBytes: 1024, expectedSize: 100 });
    expect(result).toMatchObject({ ...(await hashFile(file)), after: { size: 3000 } });
  });

  it('stops when aborted, and closes the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-hash-'));
    dirs.push(dir);
    const file = join(dir, 'big');
    await writeFile(file, randomBytes(64 * 1024));
    const abort = new AbortController();
    abort.abort();
    await expect(hashFilePipelined(file, { chunkBytes: 1024, signal: abort.signal })).rejects.toThrow(/abort/i);
    await expect(hashFilePipelined(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
