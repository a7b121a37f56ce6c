import { fingerprint, groupKey, groupLabels, matchesAll, type Labels, type Matcher } from './labels.js';
import type { AlertCandidate } from './rules/types.js';

/** An alert as stored: one firing episode of a fingerprint. */
export interface AlertRecord {
  /** `null` for an alert this evaluation created. */
  id: number | null;
  fingerprint: string;
  rule: string;
  labels: Labels;
  annotations: Record<string, string>;
  status: 'firing' | 'resolved';
  groupKey: string;
  startsAt: number;
  endsAt: number | null;
  /** `silence:<id>` or `inhibited:<fingerprint>` while it is kept out of notifications. */
  mutedBy: string | null;
  /** Last time a firing notification included it. */
  lastNotifiedAt: number | null;
  /** When its resolution was notified (or deliberately not: muted or superseded). */
  resolvedNotifiedAt: number | null;
}

/** A notification group: the alerts with the same grouping labels. */
export interface GroupRecord {
  groupKey: string;
  labels: Labels;
  createdAt: number;
  lastNotifiedAt: number | null;
  /** The firing alerts the last notification listed. */
  notifiedFingerprints: string[];
}

export interface SilenceRecord {
  id: string;
  matchers: Matcher[];
  startsAt: number;
  endsAt: number;
}

/** While an alert matching `source` fires, alerts matching `target` with the same `equal` labels are muted. */
export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

export interface LifecycleSettings {
  groupBy: readonly string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

export interface NotificationAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Record<string, string>;
  startsAt: number;
  endsAt: number | null;
}

/** One message about one group, to every receiver. */
export interface Notification {
  groupKey: string;
  groupLabels: Labels;
  status: 'firing' | 'resolved';
  reason: 'first' | 'update' | 'repeat' | 'resolved';
  /** Firing alerts first, then resolved ones; each sorted by start. */
  alerts: NotificationAlert[];
}

export interface LifecycleInput {
  now: number;
  candidates: readonly AlertCandidate[];
  /** Rules that ran: only their alerts can resolve. A rule that could not look changes nothing. */
  evaluatedRules: ReadonlySet<string>;
  /** Open alerts: firing, and resolved ones whose resolution is still to be notified. */
  alerts: readonly AlertRecord[];
  groups: readonly GroupRecord[];
  silences: readonly SilenceRecord[];
  inhibitRules: readonly InhibitRule[];
  settings: LifecycleSettings;
}

export interface LifecycleOutput {
  /** New and changed alerts, to be written. */
  writes: AlertRecord[];
  started: AlertRecord[];
  resolved: AlertRecord[];
  /** Groups to create or update, and keys of groups that ended. */
  groups: GroupRecord[];
  endedGroups: string[];
  notifications: Notification[];
}

/**
 * One evaluation of the alert lifecycle, as Alertmanager does it, without I/O:
 *
 * - a candidate whose fingerprint is not firing starts a new alert; a firing alert of a
 *   rule that ran and no longer reports it resolves;
 * - silences and inhibition mute alerts (kept, but left out of messages);
 * - alerts are grouped by `groupBy` labels; a new group's first message waits
 *   `groupWaitMs` so one incident is one message; alerts added to or resolved in a
 *   group already notified go out after `groupIntervalMs`; a group still firing is
 *   repeated after `repeatIntervalMs`;
 * - an alert resolved before anyone heard of it is never announced as resolved.
 */
export function evaluateLifecycle(input: LifecycleInput): LifecycleOutput {
  const { now, settings } = input;
  const original = new Map<AlertRecord, string>();
  const alerts: AlertRecord[] = input.alerts.map((a) => {
    const copy = { ...a, labels: { ...a.labels }, annotations: { ...a.annotations } };
    original.set(copy, JSON.stringify(a));
    return copy;
  });
  const out: LifecycleOutput = { writes: [], started: [], resolved: [], groups: [], endedGroups: [], notifications: [] };

  // 1. Start, update and resolve.
  const firingByFp = new Map(alerts.filter((a) => a.status === 'firing').map((a) => [a.fingerprint, a]));
  const seen = new Set<string>();
  for (const c of input.candidates) {
    const labels = c.labels;
    const fp = fingerprint(labels);
    if (seen.has(fp)) continue;
    seen.add(fp);
    const current = firingByFp.get(fp);
    if (current) {
      current.annotations = { ...c.annotations };
      continue;
    }
    const created: AlertRecord = {
      id: null,
      fingerprint: fp,
      rule: labels.alertname ?? 'unknown',
      labels: { ...labels },
      annotations: { ...c.annotations },
      status: 'firing',
      groupKey: groupKey(groupLabels(labels, settings.groupBy)),
      startsAt: now,
      endsAt: null,
      mutedBy: null,
      lastNotifiedAt: null,
      resolvedNotifiedAt: null,
    };
    alerts.push(created);
    firingByFp.set(fp, created);
    out.started.push(created);
  }
  for (const a of alerts) {
    if (a.status === 'firing' && !seen.has(a.fingerprint) && input.evaluatedRules.has(a.rule)) {
      a.status = 'resolved';
      a.endsAt = now;
      firingByFp.delete(a.fingerprint);
      out.resolved.push(a);
    }
  }

  // 2. Mute: silences first, then inhibition by other firing alerts.
  const firing = alerts.filter((a) => a.status === 'firing');
  for (const a of alerts) {
    if (a.status === 'firing') a.mutedBy = muteReason(a, firing, input.silences, input.inhibitRules, now);
    else if (a.resolvedNotifiedAt === null) a.mutedBy = silencedBy(a.labels, input.silences, now) ?? a.mutedBy;
  }

  // 3. Flush each group that is due.
  const groups = new Map(input.groups.map((g) => [g.groupKey, { ...g, notifiedFingerprints: [...g.notifiedFingerprints] }]));
  const members = new Map<string, AlertRecord[]>();
  for (const a of alerts) {
    const list = members.get(a.groupKey) ?? [];
    list.push(a);
    members.set(a.groupKey, list);
  }
  const touchedGroups = new Set<string>();
  for (const [key, list] of members) {
    let group = groups.get(key);
    const anyFiring = list.some((a) => a.status === 'firing');
    if (!group) {
      if (!anyFiring) {
        // Resolved leftovers of a group that already ended: nothing left to say.
        for (const a of list) a.resolvedNotifiedAt ??= now;
        continue;
      }
      group = { groupKey: key, labels: groupLabels(list[0]?.labels ?? {}, settings.groupBy), createdAt: now, lastNotifiedAt: null, notifiedFingerprints: [] };
      groups.set(key, group);
      touchedGroups.add(key);
    }
    const firingFps = new Set(list.filter((a) => a.status === 'firing').map((a) => a.fingerprint));
    const toNotifyFiring = list.filter((a) => a.status === 'firing' && a.mutedBy === null).sort(byStart);
    const pendingResolved: AlertRecord[] = [];
    for (const a of list) {
      if (a.status !== 'resolved' || a.resolvedNotifiedAt !== null) continue;
      if (a.lastNotifiedAt === null) continue; // nobody was told it fired
      if (a.mutedBy !== null || firingFps.has(a.fingerprint)) {
        // Muted, or firing again already (a flap): its resolution is not news.
        a.resolvedNotifiedAt = now;
        continue;
      }
      pendingResolved.push(a);
    }
    pendingResolved.sort(byStart);
    const reason = flushReason(group, toNotifyFiring, pendingResolved, now, settings);
    if (reason) {
      out.notifications.push({
        groupKey: key,
        groupLabels: { ...group.labels },
        status: toNotifyFiring.length > 0 ? 'firing' : 'resolved',
        reason,
        alerts: [...toNotifyFiring, ...pendingResolved].map(view),
      });
      for (const a of toNotifyFiring) a.lastNotifiedAt = now;
      for (const a of pendingResolved) a.resolvedNotifiedAt = now;
      group.lastNotifiedAt = now;
      group.notifiedFingerprints = toNotifyFiring.map((a) => a.fingerprint);
      touchedGroups.add(key);
    }
    const stillOpen = list.some((a) => a.status === 'firing' || (a.resolvedNotifiedAt === null && a.lastNotifiedAt !== null));
    if (!stillOpen) {
      groups.delete(key);
      touchedGroups.delete(key);
      if (input.groups.some((g) => g.groupKey === key)) out.endedGroups.push(key);
    }
  }
  // Groups with no alert left at all (e.g. their alerts were removed by hand) end too.
  for (const g of input.groups) {
    if (!members.has(g.groupKey) && !out.endedGroups.includes(g.groupKey)) {
      groups.delete(g.groupKey);
      out.endedGroups.push(g.groupKey);
    }
  }
  out.groups = [...touchedGroups].flatMap((k) => {
    const g = groups.get(k);
    return g ? [g] : [];
  });

  for (const a of alerts) {
    const before = original.get(a);
    if (before === undefined || before !== JSON.stringify(a)) out.writes.push(a);
  }
  return out;
}

function flushReason(group: GroupRecord, firing: AlertRecord[], resolved: AlertRecord[], now: number, s: LifecycleSettings): Notification['reason'] | null {
  if (group.lastNotifiedAt === null) {
    return firing.length > 0 && now >= group.createdAt + s.groupWaitMs ? 'first' : null;
  }
  const notified = new Set(group.notifiedFingerprints);
  const changed = firing.some((a) => !notified.has(a.fingerprint)) || resolved.length > 0;
  if (changed && now >= group.lastNotifiedAt + s.groupIntervalMs) return firing.length > 0 ? 'update' : 'resolved';
  if (firing.length > 0 && now >= group.lastNotifiedAt + s.repeatIntervalMs) return 'repeat';
  return null;
}

function silencedBy(labels: Labels, silences: readonly SilenceRecord[], now: number): string | null {
  for (const s of silences) {
    if (s.startsAt <= now && now < s.endsAt && matchesAll(s.matchers, labels)) return `silence:${s.id}`;
  }
  return null;
}

function muteReason(a: AlertRecord, firing: readonly AlertRecord[], silences: readonly SilenceRecord[], rules: readonly InhibitRule[], now: number): string | null {
  const silence = silencedBy(a.labels, silences, now);
  if (silence) return silence;
  for (const rule of rules) {
    if (!matchesAll(rule.target, a.labels)) continue;
    for (const source of firing) {
      if (source.fingerprint === a.fingerprint || !matchesAll(rule.source, source.labels)) continue;
      if (rule.equal.every((name) => (source.labels[name] ?? '') === (a.labels[name] ?? ''))) return `inhibited:${source.fingerprint}`;
    }
  }
  return null;
}

function byStart(a: AlertRecord, b: AlertRecord): number {
  return a.startsAt - b.startsAt || a.fingerprint.localeCompare(b.fingerprint);
}

function view(a: AlertRecord): NotificationAlert {
  return { fingerprint: a.fingerprint, status: a.status, labels: { ...a.labels }, annotations: { ...a.annotations }, startsAt: a.startsAt, endsAt: a.endsAt };
}
