import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Limiter } from '../domain/limiter.js';
import { joinRel, toSystemPath } from '../domain/names.js';
import type { MemberState, Unit } from '../domain/rules.js';

/** What one look at an acquisition found. */
export type Probe =
  | { kind: 'gone' }
  /** A plain directory, not an acquisition: its files are acquisitions of their own. */
  | { kind: 'directory' }
  | { kind: 'unreadable'; path: string; error: string; code: string | undefined }
  /** `extra`: the companions' sizes and mtimes, when the file has a companion rule. */
  | { kind: 'file'; size: number; mtimeMs: number; extra: string | undefined; companions: { suffix: string; size: number | undefined }[] }
  /** Total size and latest mtime; `extra` sums up every member's path, size and mtime. */
  | { kind: 'folder'; size: number; mtimeMs: number; extra: string; members: MemberState[] };

/** Options for {@link probeUnit}. */
export interface ProbeOptions {
  root: string;
  isIgnoredName: (name: string) => boolean;
  /** Companion suffixes to look for next to a file (from its companion rule). */
  companions: readonly string[];
  /** Member stats at once inside one folder. */
  concurrency?: number;
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Stats a file acquisition (and its companions), or every member of a folder acquisition. */
export async function probeUnit(unit: Unit, options: ProbeOptions): Promise<Probe> {
  const abs = join(options.root, toSystemPath(unit.path));
  let info;
  try {
    info = await stat(abs);
  } catch (err) {
    if (code(err) === 'ENOENT' || code(err) === 'ENOTDIR') return { kind: 'gone' };
    return { kind: 'unreadable', path: unit.path, error: (err as Error).message, code: code(err) };
  }
  if (info.isDirectory()) {
    if (!unit.folderRule) return { kind: 'directory' };
    return probeFolder(unit.path, abs, options);
  }
  if (!info.isFile() || unit.isFolder) return { kind: 'gone' };
  const companions = await Promise.all(
    options.companions.map(async (suffix) => {
      const other = await stat(`${abs}${suffix}`).catch(() => undefined);
      return { suffix, size: other?.isFile() ? other.size : undefined, mtimeMs: other?.mtimeMs };
    }),
  );
  const extra = companions.length === 0 ? undefined : companions.map((c) => `${c.suffix}:${c.size ?? '-'}:${c.mtimeMs ?? '-'}`).join('|');
  return { kind: 'file', size: info.size, mtimeMs: info.mtimeMs, extra, companions: companions.map(({ suffix, size }) => ({ suffix, size })) };
}

async function probeFolder(unitPath: string, abs: string, options: ProbeOptions): Promise<Probe> {
  const limiter = new Limiter(options.concurrency ?? 8);
  const members: MemberState[] = [];
  let failure: Probe | undefined;
  const visit = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(abs, toSystemPath(rel)), { withFileTypes: true });
    } catch (err) {
      if (code(err) !== 'ENOENT') failure ??= { kind: 'unreadable', path: joinRel(unitPath, rel), error: (err as Error).message, code: code(err) };
      return;
    }
    const work: Promise<void>[] = [];
    for (const entry of entries) {
      if (options.isIgnoredName(entry.name)) continue;
      const child = joinRel(rel, entry.name);
      if (entry.isDirectory()) {
        work.push(visit(child));
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        work.push(
          limiter.run(async () => {
            try {
              const s = await stat(join(abs, toSystemPath(child)));
              if (s.isFile()) members.push({ path: child, size: s.size, mtimeMs: s.mtimeMs });
            } catch (err) {
              // Deleted while we looked: the next look sees a different folder anyway.
              if (code(err) !== 'ENOENT') failure ??= { kind: 'unreadable', path: joinRel(unitPath, child), error: (err as Error).message, code: code(err) };
            }
          }),
        );
      }
    }
    await Promise.all(work);
  };
  await visit('');
  if (failure) return failure;
  members.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const digest = createHash('sha1');
  let size = 0;
  let mtimeMs = 0;
  for (const m of members) {
    digest.update(`${m.path}\0${m.size}\0${m.mtimeMs}\n`);
    size += m.size;
    mtimeMs = Math.max(mtimeMs, m.mtimeMs);
  }
  return { kind: 'folder', size, mtimeMs, extra: `${members.length}:${digest.digest('hex')}`, members };
}
