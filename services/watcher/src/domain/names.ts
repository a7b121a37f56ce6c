import { basename } from 'node:path';

// Names instruments and operating systems use for files that are still being written
// or that are not data: Office/Windows lock files, partial downloads, editor swaps.
const TEMPORARY = [/^~\$/, /\.(tmp|temp|part|partial|crdownload|swp|lock)$/i, /^thumbs\.db$/i, /^desktop\.ini$/i];

/** True for hidden and temporary names that are never acquisitions. */
export function isIgnoredName(path: string): boolean {
  const name = basename(path);
  return name.startsWith('.') || TEMPORARY.some((re) => re.test(name));
}

/** A path relative to the instrument folder with forward slashes, as events carry it. */
export function toEventPath(relative: string): string {
  return relative.split(/[\\/]+/).filter(Boolean).join('/');
}
