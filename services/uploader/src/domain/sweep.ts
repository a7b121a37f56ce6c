/** A multipart upload as a store lists it. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** What decides which pending uploads are orphans. */
export interface SweepRules {
  now: number;
  /** Uploads started longer ago than this are aborted unless still worked on. */
  maxAgeMs: number;
  /** The zone's key prefix; uploads outside Ferry's content layout below it are never touched. */
  prefix: string;
  /** Upload ids an uploader holds a fresh lease on (see the resume state). */
  active: ReadonlySet<string>;
}

/** The pending uploads to abort: Ferry's own, older than the limit, and held by nobody. */
export function selectOrphans(uploads: readonly PendingUpload[], rules: SweepRules): PendingUpload[] {
  const clean = rules.prefix.replace(/^\/+|\/+$/g, '');
  const layout = new RegExp(`^${clean ? `${escapeRegExp(clean)}/` : ''}sha256/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}$`);
  return uploads.filter(
    (u) => layout.test(u.key) && rules.now - u.initiated.getTime() > rules.maxAgeMs && !rules.active.has(u.uploadId),
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
