import { HASH_CHUNK_BYTES, type FileHash } from '@ferry/common/hash';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const MIN_CHUNK = 64 * 1024;
const MID_CHUNK = 1024 * 1024;
/** Spare buffers kept per size: up to 16 MiB of each size, and never more than 48. */
const POOL_KEEP_BYTES = 16 * 1024 * 1024;
const POOL_KEEP = 48;
const pool = new Map<number, Buffer[]>();

/**
 * Read buffers are reused: a fresh pair per file (128 KiB even for a small one) lives
 * outside the JS heap and is freed only when its wrapper is collected, so a first scan of
 * 100k files would hold far more memory than it reads.
 */
function takeBuffer(size: number): Buffer {
  return pool.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
}

function giveBack(buffer: Buffer): void {
  let spare = pool.get(buffer.length);
  if (!spare) pool.set(buffer.length, (spare = []));
  if (spare.length < Math.min(POOL_KEEP, Math.floor(POOL_KEEP_BYTES / buffer.length))) spare.push(buffer);
}

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
  const buffers: Buffer[] = [];
  try {
    const expected = options.expectedSize ?? (await handle.stat()).size;
    // Small files get small buffers: 64 KiB under 64 KiB, 1 MiB under 1 MiB, else 4 MiB.
    const full = options.chunkBytes ?? HASH_CHUNK_BYTES;
    const chunk = Math.min(full, expected < MIN_CHUNK ? MIN_CHUNK : expected < MID_CHUNK ? MID_CHUNK : full);
    const hash = createHash('sha256');
    let current = takeBuffer(chunk);
    let spare = takeBuffer(chunk);
    buffers.push(current, spare);
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
    // Never close the handle, nor reuse a buffer, under a read still in flight.
    await reading?.catch(() => undefined);
    for (const b of buffers) giveBack(b);
    await handle.close();
  }
}
