import { isAbsolute, join, normalize } from 'node:path';

/** Parses `name=/path,name2=/path2`; returns the problem as text when malformed. */
export function parseInstrumentRoots(value: string): Map<string, string> | string {
  const roots = new Map<string, string>();
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq).trim();
    const path = item.slice(eq + 1).trim();
    if (eq <= 0 || !path) return `"${item}" is not name=/absolute/path`;
    if (!isAbsolute(path)) return `the folder of ${name} must be an absolute path (got "${path}")`;
    roots.set(name, path);
  }
  return roots;
}

/**
 * Where this host reads an acquisition: the configured root of its instrument (or the
 * watcher's root when none), joined with the event's relative path. A path that climbs
 * out of the root is refused, so an event can never make the uploader read elsewhere.
 */
export function sourcePath(roots: Map<string, string>, instrument: string, eventRoot: string, relPath: string): string | undefined {
  const root = roots.get(instrument) ?? eventRoot;
  if (isAbsolute(relPath) || normalize(relPath).split(/[\\/]/).includes('..')) return undefined;
  return join(root, relPath);
}
