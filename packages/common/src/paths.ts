import { posix } from 'node:path';
import { PermanentError } from './errors.js';

/**
 * The absolute path of an acquisition below its instrument folder. A relative path that
 * climbs out of the folder (`../`, or an absolute path) is refused: it can only come from
 * a bad event, and no service may be pointed at a file outside the instrument's data.
 */
export function instrumentFilePath(root: string, relativePath: string): string {
  if (!posix.isAbsolute(root)) throw new PermanentError(`instrument root ${root} is not an absolute path`);
  const cleanRoot = posix.normalize(root).replace(/\/+$/, '') || '/';
  const rel = relativePath.replace(/\\/g, '/');
  if (posix.isAbsolute(rel)) throw new PermanentError(`file path ${relativePath} must be relative to the instrument folder`);
  const full = posix.normalize(posix.join(cleanRoot, rel));
  const inside = cleanRoot === '/' ? full.length > 1 : full.startsWith(`${cleanRoot}/`);
  if (!inside) throw new PermanentError(`file path ${relativePath} leaves the instrument folder ${root}`);
  return full;
}
