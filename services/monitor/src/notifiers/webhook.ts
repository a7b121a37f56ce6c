import { iso } from '../domain/format.js';
import type { Notification } from '../domain/lifecycle.js';
import { alertsUrl, alertUrl, common, type MessageContext } from './message.js';

/** Alertmanager writes this for an alert that has not ended. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The body Alertmanager's webhook receiver sends (version 4), so on-call tools can take it as is. */
export interface AlertmanagerWebhookBody {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

/** A notification in Alertmanager's webhook format. */
export function webhookBody(n: Notification, ctx: MessageContext): AlertmanagerWebhookBody {
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: 0,
    status: n.status,
    receiver: ctx.receiver,
    groupLabels: n.groupLabels,
    commonLabels: common(n.alerts.map((a) => a.labels)),
    commonAnnotations: common(n.alerts.map((a) => a.annotations)),
    externalURL: alertsUrl(ctx),
    alerts: n.alerts.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: iso(a.startsAt),
      endsAt: a.endsAt === null ? ZERO_TIME : iso(a.endsAt),
      generatorURL: alertUrl(ctx, a.fingerprint),
      fingerprint: a.fingerprint,
    })),
  };
}
