import type { Notification } from '../domain/lifecycle.js';
import type { MessageContext } from './message.js';
import { slackBody } from './slack.js';
import { teamsBody } from './teams.js';
import { webhookBody } from './webhook.js';

export { alertsUrl, title, type MessageContext } from './message.js';
export { slackBody } from './slack.js';
export { teamsBody } from './teams.js';
export { webhookBody, type AlertmanagerWebhookBody } from './webhook.js';

/** The kinds of receiver the monitor can post to. */
export type ReceiverKind = 'slack' | 'teams' | 'webhook';

/** A configured destination: its name (stored with each delivery), kind and URL (never stored). */
export interface Receiver {
  name: string;
  kind: ReceiverKind;
  url: string;
}

const FORMATS: Record<ReceiverKind, (n: Notification, ctx: MessageContext) => object> = {
  slack: slackBody,
  teams: teamsBody,
  webhook: webhookBody,
};

/** The body one receiver gets for one notification. */
export function messageFor(kind: ReceiverKind, n: Notification, ctx: MessageContext): object {
  return FORMATS[kind](n, ctx);
}
