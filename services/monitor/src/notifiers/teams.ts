import type { Notification } from '../domain/lifecycle.js';
import { alertsUrl, shownLabels, title, when, type MessageContext } from './message.js';

const MAX_ALERTS = 10;

/**
 * A Microsoft Teams message carrying an Adaptive Card, the shape both an incoming
 * webhook and a Workflows "post to a channel when a webhook request is received" take.
 */
export function teamsBody(n: Notification, ctx: MessageContext): Record<string, unknown> {
  const body: Record<string, unknown>[] = [
    { type: 'TextBlock', text: title(n), weight: 'Bolder', size: 'Medium', wrap: true, color: n.status === 'firing' ? 'Attention' : 'Good' },
  ];
  for (const a of n.alerts.slice(0, MAX_ALERTS)) {
    body.push({
      type: 'Container',
      separator: true,
      items: [
        { type: 'TextBlock', text: a.annotations.summary ?? a.labels.alertname ?? 'alert', weight: 'Bolder', wrap: true, color: a.status === 'firing' ? 'Attention' : 'Good' },
        ...(a.annotations.description ? [{ type: 'TextBlock', text: a.annotations.description, wrap: true, isSubtle: true }] : []),
        { type: 'FactSet', facts: [...shownLabels(a.labels).map(([k, v]) => ({ title: k, value: v })), { title: 'when', value: when(a) }] },
      ],
    });
  }
  if (n.alerts.length > MAX_ALERTS) body.push({ type: 'TextBlock', text: `…and ${n.alerts.length - MAX_ALERTS} more`, isSubtle: true });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body,
          actions: [{ type: 'Action.OpenUrl', title: 'Open alerts in Ferry', url: alertsUrl(ctx) }],
        },
      },
    ],
  };
}
