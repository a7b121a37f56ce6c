import { matches, type Labels, type Matcher } from '@ferry/common/matchers';
import { createHash } from 'node:crypto';

export { formatMatcher, matches, parseMatcher, type Labels, type Matcher } from '@ferry/common/matchers';

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

/** True when the labels satisfy every matcher (an empty list matches nothing, as a silence must match something). */
export function matchesAll(matchers: readonly Matcher[], labels: Labels): boolean {
  return matchers.length > 0 && matchers.every((m) => matches(m, labels));
}
