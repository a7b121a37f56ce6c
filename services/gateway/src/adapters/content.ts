import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createS3Client, localZonePath, type LocalZoneConfig, type S3ZoneConfig, type ZoneReader } from '@ferry/common';
import { once } from 'node:events';
import { ReadStream } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { attachmentDisposition, downloadName } from '../domain/download-name.js';
import type { FileItem } from '../domain/file-view.js';

/** How long a presigned download link stays valid. */
export const PRESIGN_EXPIRES_SECONDS = 15 * 60;

/** Where a file's bytes can be had, or why they cannot. */
export type ContentLocation =
  | { kind: 'redirect'; url: string }
  | { kind: 'stream'; body: Readable; size: number; disposition: string }
  | { kind: 'not-stored'; message: string }
  | { kind: 'zone-unavailable'; message: string };

/**
 * Serves stored content from the zones this gateway is configured with: S3 zones by
 * presigned URL, so the bytes never pass through the gateway, and local zones by
 * streaming from the folder.
 */
export class ContentSource {
  private readonly presigners = new Map<string, S3Client>();

  constructor(private readonly zones: ReadonlyMap<string, ZoneReader>) {}

  /** Finds the bytes of `file`; reading a local zone opens the stream (the caller must consume or destroy it). */
  async locate(file: FileItem): Promise<ContentLocation> {
    if (file.zone === null || file.key === null || file.storedAt === null) {
      return { kind: 'not-stored', message: `file ${file.id} has no stored content yet (status ${file.status})` };
    }
    const reader = this.zones.get(file.zone);
    if (!reader) return { kind: 'zone-unavailable', message: `zone "${file.zone}" is not configured on this gateway` };
    const disposition = attachmentDisposition(downloadName(file.path, file.kind));
    const zone = reader.zone;
    if (zone.kind === 's3') return { kind: 'redirect', url: await this.presign(zone, file.key, disposition) };
    return this.openLocal(reader, zone, file, file.key, disposition);
  }

  private async presign(zone: S3ZoneConfig, key: string, disposition: string): Promise<string> {
    let client = this.presigners.get(zone.name);
    if (!client) {
      // Signing is local computation: this client never opens a connection, so it needs no closing.
      client = createS3Client(zone);
      this.presigners.set(zone.name, client);
    }
    const command = new GetObjectCommand({ Bucket: zone.bucket, Key: key, ResponseContentDisposition: disposition });
    return getSignedUrl(client, command, { expiresIn: PRESIGN_EXPIRES_SECONDS });
  }

  private async openLocal(reader: ZoneReader, zone: LocalZoneConfig, file: FileItem, key: string, disposition: string): Promise<ContentLocation> {
    // Keys come from events; one that climbs out of the zone folder is refused, not followed.
    const root = resolve(zone.dir);
    if (!resolve(localZonePath(zone, key)).startsWith(root + sep)) {
      return { kind: 'not-stored', message: `file ${file.id} has a key outside its zone` };
    }
    const stored = await reader.head(key);
    if (!stored) return { kind: 'not-stored', message: `the content of file ${file.id} is missing from zone "${zone.name}"` };
    const body = await reader.read(key);
    if (body instanceof ReadStream) {
      // Open the file before any header goes out, so a file removed since head() is a 404, not a cut answer.
      try {
        await once(body, 'ready');
      } catch (err) {
        body.destroy();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'not-stored', message: `the content of file ${file.id} is missing from zone "${zone.name}"` };
        throw err;
      }
    }
    return { kind: 'stream', body, size: stored.size, disposition };
  }
}
