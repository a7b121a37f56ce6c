import type { Notification } from '../domain/lifecycle.js';
import { alertsUrl, shownLabels, title, when, type MessageContext } from './message.js';

/** Slack shows at most 50 blocks; a few alerts and a count read better anyway. */
const MAX_ALERTS = 10;

type Block = Record<string, unknown>;

/** Slack's mrkdwn needs &, < and > escaped in text that is not a link. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A Slack incoming-webhook message: a header, one section per alert, and a link to the alerts page. */
export function slackBody(n: Notification, ctx: MessageContext): { text: string; blocks: Block[] } {
  const heading = `${n.status === 'firing' ? '🔴' : '✅'} ${title(n)}`;
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: cut(heading, 150), emoji: true } }];
  for (const a of n.alerts.slice(0, MAX_ALERTS)) {
    const mark = a.status === 'firing' ? (a.labels.severity === 'critical' ? ':red_circle:' : ':large_orange_circle:') : ':white_check_mark:';
    const labels = shownLabels(a.labels)
      .map(([k, v]) => `${k}=\`${esc(v)}\``)
      .join('  ');
    const description = a.annotations.description ? `\n${esc(a.annotations.description)}` : '';
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`${mark} *${esc(a.annotations.summary ?? a.labels.alertname ?? 'alert')}*${description}`, 2900) },
    });
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(`${labels ? `${labels}  ·  ` : ''}${when(a)}`, 2900) }] });
  }
  if (n.alerts.length > MAX_ALERTS) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${n.alerts.length - MAX_ALERTS} more` }] });
  }
  blocks.push({ type: 'divider' });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${alertsUrl(ctx)}|Open alerts in Ferry>` } });
  return { text: title(n), blocks };
}
