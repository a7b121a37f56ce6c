/**
 * Alertmanager-style label matchers (`name="v"`, `!=`, `=~`, `!~`), stored in silences
 * and inhibition rules as `{name, value, isRegex, isEqual}`. Regexes are anchored at
 * both ends. The monitor evaluates them; the gateway validates what operators send with
 * the same parser, so the monitor never meets a matcher it cannot evaluate.
 */

/** Labels of an alert: `alertname` (the rule) plus what the rule says it is about. */
export type Labels = Record<string, string>;

export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** Label names as Prometheus allows them. */
export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const MATCHER_TEXT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses `name="value"` (quotes optional); a string saying why when it is not a matcher. Regexes are not compiled here. */
export function parseMatcherText(text: string): Matcher | string {
  const m = MATCHER_TEXT.exec(text);
  if (!m) return `"${text}" is not a matcher such as alertname="disk_low" or instrument=~"ms.*"`;
  const [, name = '', op = '=', raw = ''] = m;
  let value = raw;
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    try {
      value = JSON.parse(raw) as string;
    } catch {
      return `the value of "${text}" is not a valid quoted string`;
    }
  }
  return { name, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
}

/** Parses a matcher and compiles its regex; throws on anything that is not a usable matcher. */
export function parseMatcher(text: string): Matcher {
  const matcher = parseMatcherText(text);
  if (typeof matcher === 'string') throw new Error(matcher);
  if (matcher.isRegex) anchored(matcher.value); // throws on a bad pattern now, not at evaluation
  return matcher;
}

/** Text form of a matcher, the inverse of {@link parseMatcher}. */
export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

const regexCache = new Map<string, RegExp>();

function anchored(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Why a regex matcher's value cannot be used, or undefined when it compiles. */
export function regexProblem(pattern: string): string | undefined {
  try {
    anchored(pattern);
    return undefined;
  } catch (err) {
    return `is not a valid regular expression (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** True when the labels satisfy one matcher; a missing label is the empty string. */
export function matches(m: Matcher, labels: Labels): boolean {
  const value = labels[m.name] ?? '';
  const hit = m.isRegex ? anchored(m.value).test(value) : value === m.value;
  return m.isEqual ? hit : !hit;
}

/**
 * True when the matchers would silence everything: a silence must require at least one
 * non-empty label value. A matcher with a bad regex counts as specific (it is refused elsewhere).
 */
export function matchesEverything(matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => !m.isEqual || (!(m.isRegex && regexProblem(m.value) !== undefined) && matches(m, {})));
}
