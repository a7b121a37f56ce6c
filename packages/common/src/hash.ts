import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** 4 MiB: SHA-256 in Node runs about twice as fast on large reads as on 64 KiB ones. */
export const HASH_CHUNK_BYTES = 4 * 1024 * 1024;

/** The result of {@link hashFile}. */
export interface FileHash {
  sha256: string;
  size: number;
}

/**
 * SHA-256 of a file read in large chunks into one reused buffer. `signal` stops
 * between chunks (for shutdown, or when the file changed).
 */
export async function hashFile(path: string, options: { chunkBytes?: number; signal?: AbortSignal } = {}): Promise<FileHash> {
  const handle = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(options.chunkBytes ?? HASH_CHUNK_BYTES);
    let size = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { sha256: hash.digest('hex'), size };
  } finally {
    await handle.close();
  }
}
