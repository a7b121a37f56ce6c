/**
 * Choosing how to find files whose path contains a text (`q`), so that a search stays
 * fast on millions of rows whatever the text:
 *
 * - when matches are common, walking the newest files in order and testing each path
 *   finds a page quickly (the first stage, in the store);
 * - when they are rare, the pg_trgm index finds candidates, and two costs matter: the
 *   posting lists of the trigrams it looks up, and the candidate rows it must then
 *   read and test. A text like `sample_333333.raw` is mostly trigrams that nearly
 *   every path has (`sam`, `raw`); looking up only `_333333.` (whose padded trigrams
 *   ` 33`, `33 `, `333` say "a word that starts and ends with 33") finds the same few
 *   candidates for a fraction of the index work, and the full text is tested on them.
 *
 * How common each trigram is, is estimated from a sample of paths.
 */

/** One word of a text as pg_trgm sees it, and whether a separator bounds it inside the text. */
export interface Word {
  word: string;
  /** The separator before the word, when the text has one there (the word starts there). */
  before: string | undefined;
  /** The separator after it, likewise. */
  after: string | undefined;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** pg_trgm's words: runs of letters and digits, lowercased; anything else separates them. */
export function wordsOf(text: string): Word[] {
  const lower = text.toLowerCase();
  const out: Word[] = [];
  for (const m of lower.matchAll(WORD)) {
    const start = m.index;
    const end = start + m[0].length;
    out.push({ word: m[0], before: start > 0 ? lower[start - 1] : undefined, after: end < lower.length ? lower[end] : undefined });
  }
  return out;
}

/**
 * The trigrams pg_trgm looks up for a word of a LIKE pattern: a word bounded by a
 * separator is padded there (two blanks before, one after), one that meets a wildcard
 * is not.
 */
export function trigramsOf(word: string, bounded: { before: boolean; after: boolean } = { before: true, after: true }): string[] {
  const chars = [...`${bounded.before ? '  ' : ''}${word}${bounded.after ? ' ' : ''}`];
  const out = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) out.add(chars.slice(i, i + 3).join(''));
  return [...out];
}

/** Paths sampled from the table, with how many of them hold each (padded) trigram. */
export class PathSample {
  readonly size: number;
  private readonly counts = new Map<string, number>();
  private readonly paths: readonly string[];

  constructor(paths: readonly string[]) {
    this.paths = paths.map((p) => p.toLowerCase());
    this.size = paths.length;
    for (const path of paths) {
      const seen = new Set<string>();
      for (const { word } of wordsOf(path)) for (const t of trigramsOf(word)) seen.add(t);
      for (const t of seen) this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
    }
  }

  /** Estimated fraction of paths with trigram `t`; one unseen counts as half a path of the sample. */
  share(t: string): number {
    return Math.max(this.counts.get(t) ?? 0, 0.5) / Math.max(this.size, 1);
  }

  /** Estimated fraction of paths that contain `text` (case-insensitively); 0 when none of the sample does. */
  containing(text: string): number {
    const lower = text.toLowerCase();
    let n = 0;
    for (const path of this.paths) if (path.includes(lower)) n++;
    return n / Math.max(this.size, 1);
  }
}

/**
 * How many of the newest files to test in order before asking the index instead, for a
 * text found in `share` of the paths: about twice what a page needs, and none when that
 * would be more than `limit` rows (the index is then cheaper).
 */
export function walkWindow(share: number, wanted: number, limit: number): number {
  if (share <= 0) return 0;
  const expected = wanted / share;
  return expected > limit ? 0 : Math.min(limit, Math.ceil(2 * expected) + 200);
}

/**
 * Reading and testing one candidate row costs about as much as decoding this many
 * posting-list entries of the trigram index (measured: ~7 µs against ~6 ns).
 */
const RECHECK_WEIGHT = 1000;

/** What the trigram index should look up for `q`: all of it, some parts, or nothing. */
export type IndexLookup = { kind: 'full' } | { kind: 'parts'; texts: string[] } | { kind: 'none' };

function trigramsOfWord(w: Word): string[] {
  return trigramsOf(w.word, { before: w.before !== undefined, after: w.after !== undefined });
}

/** Words of a text beyond this many are not weighed one by one (2^n subsets). */
const MAX_WORDS = 10;

/**
 * The cheapest lookup for `q`: the full text, or some of its words with the separators
 * around them (the full text is then tested on the candidates), or none when `q` yields
 * no trigram (the index cannot help). Cost of a set of words: their trigrams' shares
 * (index work) plus the share of candidate rows (reading them), estimated as the
 * product over the words of each word's rarest trigram (words are roughly independent,
 * the trigrams of one word are not).
 */
export function chooseLookup(q: string, sample: PathSample | undefined): IndexLookup {
  const words = wordsOf(q).filter((w) => trigramsOfWord(w).length > 0);
  if (words.length === 0) return { kind: 'none' };
  if (!sample || sample.size === 0 || words.length === 1) return { kind: 'full' };
  const weighed = words.slice(0, MAX_WORDS).map((w) => {
    const shares = trigramsOfWord(w).map((t) => sample.share(t));
    return { w, index: shares.reduce((a, b) => a + b, 0), rarest: Math.min(...shares) };
  });
  let best = { mask: 0, cost: Number.POSITIVE_INFINITY };
  for (let mask = 1; mask < 1 << weighed.length; mask++) {
    let index = 0;
    let candidates = 1;
    weighed.forEach((x, i) => {
      if (mask & (1 << i)) {
        index += x.index;
        candidates *= x.rarest;
      }
    });
    const cost = index + RECHECK_WEIGHT * candidates;
    if (cost < best.cost) best = { mask, cost };
  }
  const chosen = weighed.filter((_, i) => best.mask & (1 << i)).map((x) => x.w);
  if (chosen.length === words.length) return { kind: 'full' };
  return { kind: 'parts', texts: chosen.map((w) => `${w.before ?? ''}${w.word}${w.after ?? ''}`) };
}
