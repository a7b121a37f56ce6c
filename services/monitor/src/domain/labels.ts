import { createHash } from 'node:crypto';

/** An alert's identity: `alertname` (the rule) plus what the rule says it is about. */
export type Labels = Record<string, string>;

/** An Alertmanager-style matcher: `name="v"`, `name!="v"`, `name=~"re"` or `name!~"re"`. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

/**
 * The stable id of an alert: a hash of its labels in name order. The rule is the
 * `alertname` label, so two rules never share a fingerprint.
 */
export function fingerprint(labels: Labels): string {
  const h = createHash('sha256');
  for (const name of Object.keys(labels).sort()) h.update(`${name}\u0000${labels[name]}\u0000`);
  return h.digest('hex').slice(0, 16);
}

/** The labels a group is keyed on; a label the alert lacks counts as empty and is left out. */
export function groupLabels(labels: Labels, by: readonly string[]): Labels {
  const out: Labels = {};
  for (const name of [...by].sort()) {
    const value = labels[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** A group key in Alertmanager's notation, e.g. `{}:{alertname="disk_low",instrument="ms1"}`. */
export function groupKey(group: Labels): string {
  const inner = Object.keys(group)
    .sort()
    .map((name) => `${name}=${JSON.stringify(group[name])}`)
    .join(',');
  return `{}:{${inner}}`;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;

/** Parses `name="value"` (also `!=`, `=~`, `!~`; quotes optional). Throws on anything else. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`"${text}" is not a matcher such as alertname="disk_low" or instrument=~"ms.*"`);
  const [, name = '', op = '=', raw = ''] = m;
  let value = raw;
  if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2) value = JSON.parse(raw) as string;
  const matcher = { name, value, isRegex: op === '=~' || op === '!~', isEqual: op === '=' || op === '=~' };
  if (matcher.isRegex) anchored(value); // throws on a bad pattern now, not at evaluation
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
    // Alertmanager anchors regex matchers at both ends.
    re = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** True when the labels satisfy one matcher; a missing label is the empty string. */
export function matches(m: Matcher, labels: Labels): boolean {
  const value = labels[m.name] ?? '';
  const hit = m.isRegex ? anchored(m.value).test(value) : value === m.value;
  return m.isEqual ? hit : !hit;
}

/** True when the labels satisfy every matcher (an empty list matches nothing, as a silence must match something). */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.length > 0 && matchers.every((m) => matches(m, labels));
}
