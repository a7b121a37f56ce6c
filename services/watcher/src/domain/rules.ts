import picomatch from 'picomatch';
import { baseName } from './names.js';

/**
 * Vendor completion rules, as data. A rule is matched by a glob on the name (one path
 * segment, case-insensitive); the first rule of a type that matches wins. Adding a vendor
 * is adding a row here, or a rule in an instrument's YAML configuration.
 */
export type Rule = FolderRule | FailedNameRule | CompanionRule;

/**
 * A directory that is one acquisition (Bruker `.d`, Waters `.raw`): complete when all its
 * members are stable and one set of main data files is there and non-empty; failed when it
 * stays unchanged for `mainFileTimeoutMs` without them.
 */
export interface FolderRule {
  type: 'folder';
  name: string;
  match: string;
  /** Alternatives; each is a list of member paths (relative to the folder) that must all exist. */
  mainFiles: string[][];
  mainFileTimeoutMs: number;
}

/** A name the instrument software gives a broken acquisition (Thermo's `_CORRUPTED`). */
export interface FailedNameRule {
  type: 'failed-name';
  name: string;
  match: string;
  reason: string;
}

/**
 * A file that is only complete with its companions (Sciex `x.wiff` needs `x.wiff.scan`):
 * each companion is the file's name plus a suffix. Failed when a companion is still
 * missing `timeoutMs` after the file stopped changing.
 */
export interface CompanionRule {
  type: 'companion';
  name: string;
  match: string;
  companions: string[];
  timeoutMs: number;
}

const MINUTE = 60_000;

/** The rules every instrument gets unless its configuration lists its own. */
export const BUILTIN_RULES: readonly Rule[] = [
  {
    type: 'failed-name',
    name: 'thermo-corrupted',
    match: '*_CORRUPTED*',
    reason: 'the instrument software marked it corrupted (_CORRUPTED in its name)',
  },
  {
    type: 'folder',
    name: 'bruker-d',
    match: '*.d',
    // timsTOF: analysis.tdf (SQLite metadata) with analysis.tdf_bin (frames); other Bruker
    // MS: analysis.baf, or analysis.yep on older ones; FT-ICR and NMR: ser or fid.
    mainFiles: [['analysis.tdf', 'analysis.tdf_bin'], ['analysis.baf'], ['analysis.yep'], ['ser'], ['fid']],
    mainFileTimeoutMs: 30 * MINUTE,
  },
  {
    type: 'folder',
    name: 'waters-raw',
    // Only directories: Thermo's .raw is a file and goes by the plain stability rule.
    match: '*.raw',
    mainFiles: [['_FUNC001.DAT']],
    mainFileTimeoutMs: 30 * MINUTE,
  },
  { type: 'companion', name: 'sciex-wiff', match: '*.wiff', companions: ['.scan'], timeoutMs: 60 * MINUTE },
];

/** What a path belongs to: itself, or the folder acquisition above it. */
export interface Unit {
  /** The acquisition's path relative to the instrument folder, with forward slashes. */
  path: string;
  /** Set when the unit is a folder acquisition, or would be one if `path` is a directory. */
  folderRule: FolderRule | undefined;
  /** True when `path` is certainly a directory (it was seen as an ancestor). */
  isFolder: boolean;
}

/** A member of a folder acquisition, or the one file of a file acquisition. */
export interface MemberState {
  path: string;
  size: number;
  mtimeMs: number;
}

/** Whether a stable acquisition may be announced. */
export type Completeness =
  | { state: 'complete' }
  /** 0 bytes: instruments create files before writing them; never complete, never failed. */
  | { state: 'empty' }
  /** Something the vendor rule needs is missing; failed when still missing after `timeoutMs` unchanged. */
  | { state: 'waiting'; rule: string; reason: string; timeoutMs: number };

interface Compiled<R extends Rule> {
  rule: R;
  test: (name: string) => boolean;
}

/** A compiled list of rules for one instrument. */
export class RuleSet {
  private readonly folders: Compiled<FolderRule>[] = [];
  private readonly failedNames: Compiled<FailedNameRule>[] = [];
  private readonly companions: Compiled<CompanionRule>[] = [];

  constructor(readonly rules: readonly Rule[]) {
    for (const rule of rules) {
      const test = picomatch(rule.match, { dot: true, nocase: true });
      if (rule.type === 'folder') this.folders.push({ rule, test });
      else if (rule.type === 'failed-name') this.failedNames.push({ rule, test });
      else this.companions.push({ rule, test });
    }
  }

  /** The folder rule for a directory of this name. */
  folderRule(name: string): FolderRule | undefined {
    return this.folders.find((c) => c.test(name))?.rule;
  }

  /** The failed-name rule this name matches. */
  failedName(name: string): FailedNameRule | undefined {
    return this.failedNames.find((c) => c.test(name))?.rule;
  }

  /** The companion rule for a file of this name. */
  companionRule(name: string): CompanionRule | undefined {
    return this.companions.find((c) => c.test(name))?.rule;
  }

  /** The acquisition `rel` belongs to: the top-most ancestor a folder rule matches, else itself. */
  unitOf(rel: string): Unit {
    if (this.folders.length > 0) {
      const parts = rel.split('/');
      for (let i = 0; i < parts.length - 1; i++) {
        const rule = this.folderRule(parts[i]!);
        if (rule) return { path: parts.slice(0, i + 1).join('/'), folderRule: rule, isFolder: true };
      }
      return { path: rel, folderRule: this.folderRule(parts[parts.length - 1]!), isFolder: false };
    }
    return { path: rel, folderRule: undefined, isFolder: false };
  }
}

/** Judges a stable file: never when empty; with a companion rule, only with its companions. */
export function judgeFile(path: string, size: number, companions: readonly { suffix: string; size: number | undefined }[], rule?: CompanionRule): Completeness {
  if (size === 0) return { state: 'empty' };
  if (!rule) return { state: 'complete' };
  const missing = companions.filter((c) => c.size === undefined || c.size === 0).map((c) => `${baseName(path)}${c.suffix}`);
  if (missing.length === 0) return { state: 'complete' };
  return { state: 'waiting', rule: rule.name, reason: `waiting for ${missing.join(', ')}`, timeoutMs: rule.timeoutMs };
}

/** Judges a stable folder against its rule: one set of main data files present and non-empty. */
export function judgeFolder(rule: FolderRule, members: readonly MemberState[]): Completeness {
  const sizes = new Map(members.map((m) => [m.path.toLowerCase(), m.size]));
  const found = rule.mainFiles.some((set) => set.every((p) => (sizes.get(p.toLowerCase()) ?? 0) > 0));
  if (found) return { state: 'complete' };
  const expected = rule.mainFiles.map((set) => set.join(' + ')).join(' or ');
  const reason = members.length === 0 ? `the folder is empty (expected ${expected})` : `no main data file (expected ${expected})`;
  return { state: 'waiting', rule: rule.name, reason, timeoutMs: rule.mainFileTimeoutMs };
}
