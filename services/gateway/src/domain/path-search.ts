/**
 * Choosing how to find files whose path contains a text (`q`), so that a search stays
 * fast on millions of rows whatever the text:
 *
 * - when matches are common, walking the newest files in order and testing each path
 *   finds a page quickly (the first stage, in the store);
 * - when they are rare, the path-gram index finds candidates (migration 0006: a GIN
 *   index on every three-character run of the lowercased path, separators included, so
 *   `proj-17/sample_12` looks up `7/s` and `_12`, which tell "project 17, then a sample
 *   starting with 12" apart from a path that merely has both numbers somewhere). Two
 *   costs matter: the posting lists of the grams it looks up (`sam` is in every path),
 *   and the candidate rows it must then read and test. The cheapest set of grams is
 *   chosen from a sample of paths, which also says how the grams occur together.
 */

/** A three-character run of `q` as sent to the database (its case kept: PostgreSQL lowers it). */
export interface Gram {
  /** The run as written in `q`. */
  text: string;
  /** Lowercased, for the sample (which holds lowercased paths). */
  key: string;
}

const ASCII = /^[\x20-\x7e]{3}$/;

/**
 * The distinct three-character runs of `text`, in order. Runs with a character outside
 * printable ASCII are left out: lowercasing those can depend on the database's locale
 * and on their neighbours, and a run that PostgreSQL would lower differently could miss
 * files. What is left out only makes the lookup less selective: the full text is tested
 * on every candidate.
 */
export function gramsOf(text: string): Gram[] {
  const chars = [...text];
  const seen = new Set<string>();
  const out: Gram[] = [];
  for (let i = 0; i + 3 <= chars.length; i++) {
    const run = chars.slice(i, i + 3).join('');
    if (!ASCII.test(run)) continue;
    const key = run.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ text: run, key });
  }
  return out;
}

/** Every distinct three-character run of a (lowercased) path, as the index holds them. */
function runsOf(path: string): Set<string> {
  const chars = [...path];
  const out = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) out.add(chars.slice(i, i + 3).join(''));
  return out;
}

/** Paths sampled from the table, with which of them hold each gram. */
export class PathSample {
  readonly size: number;
  /** For each gram, the (ascending) positions in `paths` of the paths that hold it. */
  private readonly postings = new Map<string, number[]>();
  private readonly paths: readonly string[];

  constructor(paths: readonly string[]) {
    this.paths = paths.map((p) => p.toLowerCase());
    this.size = paths.length;
    this.paths.forEach((path, i) => {
      for (const run of runsOf(path)) {
        const list = this.postings.get(run);
        if (list) list.push(i);
        else this.postings.set(run, [i]);
      }
    });
  }

  /** The sampled paths holding gram `key` (ascending positions; empty when none does). */
  holding(key: string): readonly number[] {
    return this.postings.get(key) ?? [];
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
 * posting-list entries of the index (measured on 1M files: a few µs against a few ns).
 */
const RECHECK_WEIGHT = 1000;

/** Without a sample, at most this many grams, spread over the text, are looked up. */
const UNSAMPLED_GRAMS = 8;

function intersect(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

/**
 * The grams of `q` the index should look up; empty when `q` has none (shorter than
 * three characters, or only characters the lookup leaves out), and the index cannot
 * help. With a sample, grams are added rarest-combination first while they pay: each
 * costs its share of the index (its posting list) and saves the candidate rows it rules
 * out, counted on the sample paths that hold every gram chosen so far. Without one (a
 * small table) a few grams spread over the text, which is cheap at that size.
 */
export function chooseGrams(q: string, sample: PathSample | undefined): Gram[] {
  const grams = gramsOf(q);
  if (!sample || sample.size === 0 || grams.length <= 1) {
    if (grams.length <= UNSAMPLED_GRAMS) return grams;
    const step = (grams.length - 1) / (UNSAMPLED_GRAMS - 1);
    return Array.from({ length: UNSAMPLED_GRAMS }, (_, i) => grams[Math.round(i * step)]!);
  }
  // An unseen gram counts as half a path, so estimates never reach zero.
  const floor = 0.5 / sample.size;
  const share = (n: number) => Math.max(n, 0.5) / sample.size;
  const chosen: Gram[] = [];
  let holders: readonly number[] | undefined; // sample paths holding every chosen gram
  let index = 0;
  let cost = RECHECK_WEIGHT; // no lookup: every row is a candidate
  const left = [...grams];
  for (;;) {
    let best: { at: number; cost: number; holders: number[] } | undefined;
    for (const [at, gram] of left.entries()) {
      const posting = sample.holding(gram.key);
      const together = holders ? intersect(holders, posting) : [...posting];
      const next = index + share(posting.length) + RECHECK_WEIGHT * Math.max(together.length / sample.size, floor);
      if (next < (best?.cost ?? cost)) best = { at, cost: next, holders: together };
    }
    if (!best) break;
    const [gram] = left.splice(best.at, 1);
    chosen.push(gram!);
    index += share(sample.holding(gram!.key).length);
    cost = best.cost;
    holders = best.holders;
  }
  return chosen;
}
