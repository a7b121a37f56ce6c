import { describe, expect, it } from 'vitest';
import type { Notification } from '../domain/lifecycle.js';
import { slackBody } from './slack.js';
import { teamsBody } from './teams.js';
import { webhookBody } from './webhook.js';

const start = Date.UTC(2026, 10, 2, 9, 0, 0);
const firing: Notification = {
  groupKey: '{}:{alertname="disk_low",instrument="ms1"}',
  groupLabels: { alertname: 'disk_low', instrument: 'ms1' },
  status: 'firing',
  reason: 'first',
  alerts: [
    {
      fingerprint: 'aaaa000011112222',
      status: 'firing',
      labels: { alertname: 'disk_low', severity: 'warning', instrument: 'ms1', instance: 'ms1-pc', path: '/data' },
      annotations: { summary: '/data on ms1-pc has 150 GB free (floor 200 GB)', description: '150 GB free of 2 TB' },
      startsAt: start,
      endsAt: null,
    },
  ],
};
const resolved: Notification = { ...firing, status: 'resolved', reason: 'resolved', alerts: firing.alerts.map((a) => ({ ...a, status: 'resolved', endsAt: start + 720_000 })) };
const ctx = { receiver: 'webhook', publicUrl: 'https://ferry.lab.example/' };

describe('notification bodies', () => {
  it('follow Alertmanager’s webhook format (version 4)', () => {
    expect(webhookBody(firing, ctx)).toEqual({
      version: '4',
      groupKey: '{}:{alertname="disk_low",instrument="ms1"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'webhook',
      groupLabels: { alertname: 'disk_low', instrument: 'ms1' },
      commonLabels: { alertname: 'disk_low', severity: 'warning', instrument: 'ms1', instance: 'ms1-pc', path: '/data' },
      commonAnnotations: { summary: '/data on ms1-pc has 150 GB free (floor 200 GB)', description: '150 GB free of 2 TB' },
      externalURL: 'https://ferry.lab.example/alerts',
      alerts: [
        {
          status: 'firing',
          labels: firing.alerts[0]!.labels,
          annotations: firing.alerts[0]!.annotations,
          startsAt: '2026-11-02T09:00:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'https://ferry.lab.example/alerts?fingerprint=aaaa000011112222',
          fingerprint: 'aaaa000011112222',
        },
      ],
    });
    expect(webhookBody(resolved, ctx).alerts[0]?.endsAt).toBe('2026-11-02T09:12:00.000Z');
  });

  it('make a readable Slack message with a link to the alerts page', () => {
    const body = slackBody(firing, ctx);
    expect(body.text).toBe('[FIRING:1] disk_low (ms1)');
    expect(body.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '🔴 [FIRING:1] disk_low (ms1)', emoji: true } });
    const text = JSON.stringify(body.blocks);
    expect(text).toContain('*/data on ms1-pc has 150 GB free (floor 200 GB)*');
    expect(text).toContain('instance=`ms1-pc`');
    expect(text).toContain('since 2026-11-02 09:00 UTC');
    expect(text).toContain('<https://ferry.lab.example/alerts|Open alerts in Ferry>');
    expect(JSON.stringify(slackBody(resolved, ctx).blocks)).toContain('resolved after 12m');
  });

  it('make a Teams Adaptive Card', () => {
    const body = teamsBody(firing, ctx) as { type: string; attachments: { contentType: string; content: { type: string; body: unknown[]; actions: unknown[] } }[] };
    expect(body.type).toBe('message');
    const card = body.attachments[0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content.type).toBe('AdaptiveCard');
    expect(card.content.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open alerts in Ferry', url: 'https://ferry.lab.example/alerts' }]);
    expect(JSON.stringify(card.content.body)).toContain('{"title":"path","value":"/data"}');
  });

  it('shorten a long incident', () => {
    const many: Notification = { ...firing, alerts: Array.from({ length: 25 }, (_, i) => ({ ...firing.alerts[0]!, fingerprint: `f${i}`, labels: { ...firing.alerts[0]!.labels, instance: `pc${i}` } })) };
    const blocks = slackBody(many, ctx).blocks;
    expect(blocks.length).toBeLessThan(50);
    expect(JSON.stringify(blocks)).toContain('…and 15 more');
  });
});
