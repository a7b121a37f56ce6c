/**
 * Silences as the monitor reads them: Alertmanager-style matchers (`name="v"`, `!=`,
 * `=~`, `!~`) stored as `{name, value, isRegex, isEqual}` objects, regexes anchored at
 * both ends. The gateway validates what an operator sends so the monitor never meets a
 * matcher it cannot evaluate.
 */

/** One matcher of a silence, as stored in `silences.matchers`. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/** Label names as Prometheus allows them. */
export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const MATCHER_TEXT = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses `name="value"` (also `!=`, `=~`, `!~`; quotes optional); a string saying why otherwise. */
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

/** Why a regex matcher's value cannot be used, or undefined when it compiles (anchored). */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(`^(?:${pattern})$`);
    return undefined;
  } catch (err) {
    return `is not a valid regular expression (${err instanceof Error ? err.message : String(err)})`;
  }
}

/** True when the matcher accepts an alert that lacks its label (the empty value). */
function matchesEmpty(m: Matcher): boolean {
  if (m.isRegex && regexProblem(m.value) !== undefined) return false; // refused elsewhere
  const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test('') : m.value === '';
  return m.isEqual ? hit : !hit;
}

/**
 * True when the matchers would silence everything: a silence must require at least one
 * non-empty label value, as the monitor also insists.
 */
export function matchesEverything(matchers: readonly Matcher[]): boolean {
  return matchers.every((m) => !m.isEqual || matchesEmpty(m));
}

/** The text form of a matcher, e.g. `instrument=~"ms.*"`. */
export function formatMatcher(m: Matcher): string {
  const op = m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

/** Where a silence stands at `now`. */
export function silenceState(startsAt: Date, endsAt: Date, now: Date): 'pending' | 'active' | 'expired' {
  if (endsAt.getTime() <= now.getTime()) return 'expired';
  return startsAt.getTime() > now.getTime() ? 'pending' : 'active';
}
