import { formatDuration, iso } from '../domain/format.js';
import type { Labels } from '../domain/labels.js';
import type { Notification, NotificationAlert } from '../domain/lifecycle.js';

/** Where messages link to and who they are for. */
export interface MessageContext {
  /** The receiver's name: `slack`, `teams` or `webhook`. */
  receiver: string;
  /** Ferry's web address (`FERRY_PUBLIC_URL`), without a trailing slash. */
  publicUrl: string;
}

/** The alerts page of the web app. */
export function alertsUrl(ctx: MessageContext): string {
  return `${ctx.publicUrl.replace(/\/+$/, '')}/alerts`;
}

/** The page of one alert. */
export function alertUrl(ctx: MessageContext, fingerprint: string): string {
  return `${alertsUrl(ctx)}?fingerprint=${encodeURIComponent(fingerprint)}`;
}

/** `[FIRING:2] heartbeat_missing (ms1)`, as Alertmanager's default title reads. */
export function title(n: Notification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const head = n.status === 'firing' ? `[FIRING:${firing}]` : '[RESOLVED]';
  const { alertname, ...rest } = n.groupLabels;
  const extra = Object.values(rest).join(' ');
  return `${head} ${alertname ?? 'alerts'}${extra ? ` (${extra})` : ''}`;
}

/** The labels worth showing next to the summary (`alertname` and `severity` are said elsewhere). */
export function shownLabels(labels: Labels): [string, string][] {
  return Object.entries(labels)
    .filter(([k]) => k !== 'alertname' && k !== 'severity')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** `since 2026-11-01 12:00 UTC` or `resolved after 12m`. */
export function when(a: NotificationAlert): string {
  if (a.status === 'resolved' && a.endsAt !== null) return `resolved after ${formatDuration(a.endsAt - a.startsAt)}`;
  return `since ${iso(a.startsAt).slice(0, 16).replace('T', ' ')} UTC`;
}

/** Labels (or annotations) whose value is the same in every alert. */
export function common(maps: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}
