import { statfs } from 'node:fs/promises';
import { fsKind, type FsKind } from '../domain/fs-types.js';

/** How an instrument folder will be watched, and why. */
export interface WatchMode {
  mode: 'native' | 'poll';
  fs: FsKind | undefined;
  reason: string;
}

/**
 * Chooses native events or polling for a folder: `poll: true/false` is obeyed; `auto`
 * polls on network and FUSE file systems (by `statfs` type), where inotify does not see
 * what other machines write.
 */
export async function chooseWatchMode(folder: string, poll: 'auto' | boolean): Promise<WatchMode> {
  let fs: FsKind | undefined;
  try {
    fs = fsKind((await statfs(folder)).type);
  } catch {
    fs = undefined;
  }
  if (poll === true) return { mode: 'poll', fs, reason: 'poll: true in the configuration' };
  if (poll === false) return { mode: 'native', fs, reason: 'poll: false in the configuration' };
  if (!fs) return { mode: 'poll', fs, reason: 'file system type unknown (folder not readable yet); polling to be safe' };
  return fs.network ? { mode: 'poll', fs, reason: `${fs.name} is a network file system` } : { mode: 'native', fs, reason: `${fs.name} is a local file system` };
}
