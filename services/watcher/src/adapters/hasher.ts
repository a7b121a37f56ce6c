import { HASH_CHUNK_BYTES, type FileHash } from '@ferry/common';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const MIN_CHUNK = 64 * 1024;

/** A file's digest, with its size and mtime from its open handle once read to the end. */
export interface HashedFile extends FileHash {
  after: { size: number; mtimeMs: number; mtime: Date };
}

/** Options for {@link hashFilePipelined}. */
export interface HashOptions {
  chunkBytes?: number;
  signal?: AbortSignal;
  /** The size the caller saw; spares an fstat before reading (small files get small buffers). */
  expectedSize?: number;
}

/**
 * SHA-256 of a file in 4 MiB chunks, reading the next chunk while the current one is
 * hashed: the read runs on libuv's thread pool and the hash on the main thread, so a
 * large file costs about the hashing alone, where read-then-hash (common's `hashFile`)
 * costs both. Ends with an fstat of the same handle, so the caller can tell whether the
 * file changed since it last saw it without another lookup by path. `signal` stops
 * between chunks.
 */
export async function hashFilePipelined(path: string, options: HashOptions = {}): Promise<HashedFile> {
  const handle = await open(path, 'r');
  let reading: Promise<{ bytesRead: number }> | undefined;
  try {
    const expected = options.expectedSize ?? (await handle.stat()).size;
    // Small files get small buffers: two 4 MiB buffers for each of 100k small files is
    // 800 GB of allocation, and the garbage collector's time goes with it.
    const chunk = Math.min(options.chunkBytes ?? HASH_CHUNK_BYTES, Math.max(MIN_CHUNK, expected + 1));
    const hash = createHash('sha256');
    let current = Buffer.allocUnsafe(chunk);
    let spare = Buffer.allocUnsafe(chunk);
    let size = 0;
    let next: Promise<{ bytesRead: number }> = (reading = handle.read(current, 0, current.length, 0));
    for (;;) {
      const { bytesRead } = await next;
      reading = undefined;
      if (bytesRead === 0) break;
      size += bytesRead;
      // A short read is not the end on a share, unless the file is read to its size. If it
      // grew meanwhile, the fstat below shows it.
      const end = bytesRead < current.length && size >= expected;
      if (!end) {
        options.signal?.throwIfAborted();
        next = reading = handle.read(spare, 0, spare.length, size);
      }
      hash.update(bytesRead === current.length ? current : current.subarray(0, bytesRead));
      if (end) break;
      [current, spare] = [spare, current];
    }
    const info = await handle.stat();
    return { sha256: hash.digest('hex'), size, after: { size: info.size, mtimeMs: info.mtimeMs, mtime: info.mtime } };
  } finally {
    // Never close the handle under a read still in flight.
    await reading?.catch(() => undefined);
    await handle.close();
  }
}
