const MiB = 1024 * 1024;
/** S3's limits: at most 10,000 parts of at most 5 GiB. */
export const MAX_PARTS = 10_000;
export const MAX_PART_BYTES = 5 * 1024 * MiB;

/** The part size for a file: the configured one, grown (in whole MiB) when the file needs more than 10,000 parts. */
export function partSizeFor(size: number, configured: number): number {
  const needed = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_BYTES, Math.max(configured, needed));
}

/** A part that was sent and acknowledged, as kept in the resume state. */
export interface RecordedPart {
  n: number;
  etag: string;
  size: number;
  /** SHA-256 (hex) of the part's bytes as they were sent. */
  sha256: string;
}

/** A part as the store lists it (ListParts). */
export interface ListedPart {
  n: number;
  etag: string;
  size: number;
}

/** Where an interrupted multipart upload stands; kept in NATS KV under the zone and hash. */
export interface UploadState {
  v: 1;
  key: string;
  uploadId: string;
  size: number;
  partSize: number;
  parts: RecordedPart[];
  /** The uploader instance working on it, and when it last showed progress (its lease). */
  owner: string;
  startedAt: string;
  updatedAt: string;
}

const bareEtag = (etag: string) => etag.replace(/"/g, '');

/**
 * The recorded parts that can be kept. When the store can list the upload's parts, a
 * part counts only if the store has it with the same ETag and size; stores that cannot
 * list parts (s3rver) are trusted, and a wrong guess fails the completion, not the data.
 */
export function reusableParts(recorded: readonly RecordedPart[], listed: readonly ListedPart[] | undefined): Map<number, RecordedPart> {
  const stored = listed ? new Map(listed.map((p) => [p.n, p])) : undefined;
  const keep = new Map<number, RecordedPart>();
  for (const part of recorded) {
    const there = stored?.get(part.n);
    if (stored && (!there || bareEtag(there.etag) !== bareEtag(part.etag) || there.size !== part.size)) continue;
    keep.set(part.n, part);
  }
  return keep;
}

/** True when `me` may continue `state`: it is its own, or its owner stopped showing progress. */
export function mayTakeOver(state: Pick<UploadState, 'owner' | 'updatedAt'>, me: string, now: number, leaseMs: number): boolean {
  return state.owner === me || now - Date.parse(state.updatedAt) > leaseMs;
}
