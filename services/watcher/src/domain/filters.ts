import picomatch from 'picomatch';

/**
 * Names that are never acquisitions nor part of one: hidden files, Office and Windows
 * lock and system files, partial downloads, editor swaps, the recycle bin.
 */
export const DEFAULT_IGNORE: readonly string[] = [
  '.*',
  '~$*',
  '*.tmp',
  '*.temp',
  '*.part',
  '*.partial',
  '*.crdownload',
  '*.swp',
  '*.lock',
  'Thumbs.db',
  'desktop.ini',
  '$RECYCLE.BIN',
  'System Volume Information',
];

/** What {@link PathFilter} selects; patterns are globs, matched without regard to case. */
export interface PathFilterOptions {
  /** Acquisitions to watch; empty means all. A pattern without `/` matches the name anywhere. */
  include: readonly string[];
  /** Acquisitions to leave alone; a pattern matching a folder leaves out everything in it. */
  exclude: readonly string[];
  /** Names (one path segment) that are skipped wherever they appear. */
  ignore: readonly string[];
}

type Matcher = (path: string) => boolean;

// Case-insensitive because instruments write to Windows shares, where RUN.RAW and run.raw
// are the same file; dot: true because hidden names are the ignore list's business.
const GLOB = { dot: true, nocase: true } as const;

/**
 * A glob list where a pattern without a slash matches the last segment (`*.raw` finds
 * `2024/run.RAW`) and one with a slash matches the whole relative path.
 */
export function globList(patterns: readonly string[]): Matcher {
  const byName = patterns.filter((p) => !p.includes('/'));
  const byPath = patterns.filter((p) => p.includes('/')).map((p) => p.replace(/^\.?\//, ''));
  const name = byName.length > 0 ? picomatch(byName, GLOB) : undefined;
  const path = byPath.length > 0 ? picomatch(byPath, GLOB) : undefined;
  return (rel) => (name !== undefined && name(lastSegment(rel))) || (path !== undefined && path(rel));
}

/** Decides which paths below an instrument folder the watcher looks at at all. */
export class PathFilter {
  private readonly ignored: Matcher;
  private readonly included: Matcher | undefined;
  private readonly excluded: Matcher | undefined;

  constructor(options: PathFilterOptions) {
    this.ignored = oneRegExp(options.ignore);
    this.included = options.include.length > 0 ? globList(options.include) : undefined;
    this.excluded = options.exclude.length > 0 ? globList(options.exclude) : undefined;
  }

  /** True for a hidden or temporary name (one segment). */
  isIgnoredName(name: string): boolean {
    return this.ignored(name);
  }

  /** True when any segment of `rel` is an ignored name. */
  isIgnoredPath(rel: string): boolean {
    return rel.split('/').some((segment) => this.ignored(segment));
  }

  /** True when a directory is not worth walking or watching. */
  skipsDirectory(rel: string): boolean {
    return this.ignored(lastSegment(rel)) || (this.excluded?.(rel) ?? false);
  }

  /** True when an acquisition at `rel` (a file or a folder unit) should be announced. */
  wants(rel: string): boolean {
    if (this.excluded) {
      const parts = rel.split('/');
      for (let i = 1; i <= parts.length; i++) if (this.excluded(parts.slice(0, i).join('/'))) return false;
    }
    return this.included ? this.included(rel) : true;
  }
}

/** One regular expression for a list of globs: one test per name instead of one per glob. */
function oneRegExp(patterns: readonly string[]): Matcher {
  if (patterns.length === 0) return () => false;
  const re = new RegExp(patterns.map((p) => `(?:${picomatch.makeRe(p, GLOB).source})`).join('|'), 'i');
  return (name) => re.test(name);
}

function lastSegment(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? rel : rel.slice(slash + 1);
}
