import { FerryError, PermanentError, type ZoneReader } from '@ferry/common';
import type { FileHandle } from 'node:fs/promises';

/** One acquisition (or one folder member, or a manifest) to store under its content address. */
export interface StoreRequest {
  key: string;
  /** The file to read; or `body` for content already in memory (a folder's manifest). */
  sourcePath?: string;
  body?: Buffer;
  size: number;
  sha256: string;
  metadata: Record<string, string>;
  /** Called with the bytes read and sent (or found already sent) so far. */
  onProgress?: (bytes: number) => void;
  /** Stops between parts, keeping what was sent for the next try (shutdown). */
  signal?: AbortSignal;
}

/** How a store ended. */
export interface StoreResult {
  /** The content was already there; nothing was sent. */
  existed: boolean;
  /** Parts found already sent by an earlier, interrupted try. */
  resumedParts?: number;
}

/** The file's bytes are no longer what the watcher hashed: never stored under the old address. */
export class ContentChangedError extends PermanentError {}

/** The content address holds an object of another size or hash: an alert, never an overwrite. */
export class ContentConflictError extends PermanentError {}

/** The upload stopped between parts because the uploader is stopping; what was sent is kept. */
export class UploadInterruptedError extends FerryError {}

/** HEAD first: known content is not sent again, and a different object at its address is refused. */
export async function existing(reader: ZoneReader, req: StoreRequest): Promise<StoreResult | undefined> {
  const found = await reader.head(req.key);
  if (!found) return undefined;
  if (found.size === req.size && (found.sha256 === undefined || found.sha256 === req.sha256)) return { existed: true };
  throw new ContentConflictError(
    `${req.key} already exists with size ${found.size} and hash ${found.sha256 ?? 'unknown'}, expected size ${req.size} and hash ${req.sha256}; not overwritten`,
  );
}

/** Throws {@link ContentChangedError} unless the bytes read are the bytes announced. */
export function verify(req: StoreRequest, sha256: string, size: number): void {
  if (sha256 !== req.sha256 || size !== req.size) {
    throw new ContentChangedError(
      `file changed since it was detected: read ${size} bytes with hash ${sha256.slice(0, 12)}…, expected ${req.size} bytes with hash ${req.sha256.slice(0, 12)}…; not stored, the watcher will announce the new content`,
    );
  }
}

/** Reads until `buffer` is full or the file ends; returns the bytes read. */
export async function readFull(handle: FileHandle, buffer: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** The source file of a request that has no in-memory body. */
export function sourceOf(req: StoreRequest): string {
  if (!req.sourcePath) throw new PermanentError(`nothing to store for ${req.key}: neither a file nor bytes`);
  return req.sourcePath;
}
