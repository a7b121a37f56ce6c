import type { MemberState } from './rules.js';

/** A member of an announced folder, or a hashed member of one not yet announced. */
export interface HashedMember extends MemberState {
  sha256: string;
}

/** What the watcher remembers of the last acquisition it settled at a path. */
export interface InventoryEntry {
  kind: 'file' | 'folder';
  size: number;
  mtimeMs: number;
  sha256: string;
  /** Folders: every member, sorted by path. */
  members?: HashedMember[];
  /** True when the content had been announced before (another path, or this one): not announced again. */
  duplicate?: boolean;
}

/** The first line of a journal. */
export interface JournalHeader {
  ferry: 'watcher-inventory';
  v: 2;
  instrument: string;
}

/**
 * One journal line. Short keys: the journal of a 100k-file tree stays around 15 MB.
 * `file`/`folder`: an acquisition settled at path `p` (size `s`, mtime `m`, SHA-256 `h`;
 * `mem` lists a folder's members as [path, size, mtime, sha256]; `dup` when it was not
 * announced because its content had been). `member`: one member of a folder that is being
 * hashed, so a restart does not hash it again. `content`: content announced under a path
 * that has since changed, kept so the same content is never announced twice.
 */
export type JournalLine =
  | { t: 'file'; p: string; s: number; m: number; h: string; dup?: 1 }
  | { t: 'folder'; p: string; s: number; m: number; h: string; mem: [string, number, number, string][]; dup?: 1 }
  | { t: 'member'; p: string; s: number; m: number; h: string }
  | { t: 'content'; h: string };

const SHA = /^[a-f0-9]{64}$/;

/**
 * The inventory in memory: settled acquisitions by path, every content hash announced,
 * and hashed members of folders in progress. Built by replaying journal lines; pure.
 */
export class InventoryState {
  readonly entries = new Map<string, InventoryEntry>();
  readonly contents = new Set<string>();
  /** `<folder>/<member>` → hash of a member hashed for a folder not yet settled. */
  readonly pendingMembers = new Map<string, HashedMember>();

  /** Applies one parsed journal line; throws on a malformed one. */
  apply(line: unknown): void {
    const l = line as Partial<Record<string, unknown>>;
    switch (l.t) {
      case 'file':
      case 'folder': {
        const { p, s, m, h } = l;
        if (typeof p !== 'string' || typeof s !== 'number' || typeof m !== 'number' || typeof h !== 'string' || !SHA.test(h)) throw new Error('malformed entry');
        let members: HashedMember[] | undefined;
        if (l.t === 'folder') {
          if (!Array.isArray(l.mem)) throw new Error('malformed folder entry');
          members = (l.mem as unknown[]).map((x) => {
            const [path, size, mtimeMs, sha256] = x as [unknown, unknown, unknown, unknown];
            if (typeof path !== 'string' || typeof size !== 'number' || typeof mtimeMs !== 'number' || typeof sha256 !== 'string') throw new Error('malformed member');
            return { path, size, mtimeMs, sha256 };
          });
        }
        this.settle(p, { kind: l.t, size: s, mtimeMs: m, sha256: h, ...(members ? { members } : {}), ...(l.dup ? { duplicate: true } : {}) });
        return;
      }
      case 'member': {
        const { p, s, m, h } = l;
        if (typeof p !== 'string' || typeof s !== 'number' || typeof m !== 'number' || typeof h !== 'string' || !SHA.test(h)) throw new Error('malformed member line');
        this.pendingMembers.set(p, { path: p, size: s, mtimeMs: m, sha256: h });
        return;
      }
      case 'content':
        if (typeof l.h !== 'string' || !SHA.test(l.h)) throw new Error('malformed content line');
        this.contents.add(l.h);
        return;
      default:
        throw new Error(`unknown line type ${String(l.t)}`);
    }
  }

  /** Records a settled acquisition; its folder's pending members are no longer needed. */
  settle(path: string, entry: InventoryEntry): void {
    this.entries.set(path, entry);
    this.contents.add(entry.sha256);
    if (entry.kind === 'folder') {
      for (const m of entry.members ?? []) this.pendingMembers.delete(`${path}/${m.path}`);
    }
  }

  /** The journal line for a settled acquisition. */
  static lineOf(path: string, e: InventoryEntry): JournalLine {
    const dup = e.duplicate ? { dup: 1 as const } : {};
    if (e.kind === 'folder') {
      return { t: 'folder', p: path, s: e.size, m: e.mtimeMs, h: e.sha256, mem: (e.members ?? []).map((m) => [m.path, m.size, m.mtimeMs, m.sha256]), ...dup };
    }
    return { t: 'file', p: path, s: e.size, m: e.mtimeMs, h: e.sha256, ...dup };
  }

  /** True when the file at `path` was settled with exactly this size and mtime. */
  matchesFile(path: string, size: number, mtimeMs: number): boolean {
    const e = this.entries.get(path);
    return e !== undefined && e.kind === 'file' && e.size === size && e.mtimeMs === mtimeMs;
  }

  /** True when the folder at `path` was settled with exactly these members (sorted by path). */
  matchesFolder(path: string, members: readonly MemberState[]): boolean {
    const e = this.entries.get(path);
    if (e?.kind !== 'folder' || !e.members || e.members.length !== members.length) return false;
    return e.members.every((m, i) => {
      const o = members[i]!;
      return m.path === o.path && m.size === o.size && m.mtimeMs === o.mtimeMs;
    });
  }

  /** The hash of a folder member already hashed in this state (settled or pending), if any. */
  knownMemberHash(folder: string, member: MemberState): string | undefined {
    const pending = this.pendingMembers.get(`${folder}/${member.path}`);
    if (pending && pending.size === member.size && pending.mtimeMs === member.mtimeMs) return pending.sha256;
    const settled = this.entries.get(folder)?.members?.find((m) => m.path === member.path);
    if (settled && settled.size === member.size && settled.mtimeMs === member.mtimeMs) return settled.sha256;
    return undefined;
  }

  /** Every line needed to rebuild this state, for compaction. */
  *lines(): Generator<JournalLine> {
    const referenced = new Set<string>();
    for (const [path, e] of this.entries) {
      referenced.add(e.sha256);
      yield InventoryState.lineOf(path, e);
    }
    for (const h of this.contents) if (!referenced.has(h)) yield { t: 'content', h };
    for (const m of this.pendingMembers.values()) yield { t: 'member', p: m.path, s: m.size, m: m.mtimeMs, h: m.sha256 };
  }
}
