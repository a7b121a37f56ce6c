import { formatDuration, iso } from '../format.js';
import type { Labels } from '../labels.js';
import type { AlertSettings } from '../settings.js';
import type { ComponentState, Rule } from './types.js';

/** The labels that say which component an alert is about (with its instrument for watchers). */
export function componentLabels(c: ComponentState): Labels {
  const labels: Labels = { service: c.service, instance: c.instance };
  if (typeof c.details.instrument === 'string' && c.details.instrument) labels.instrument = c.details.instrument;
  return labels;
}

/** How long a component may stay silent: per instance, else per service, else the default. */
export function heartbeatLimit(settings: AlertSettings['heartbeat'], c: ComponentState): number {
  const configured = settings.instances[`${c.service}/${c.instance}`] ?? settings.services[c.service] ?? settings.after;
  // Never less than two of the component's own intervals: one late beat is not an outage.
  return Math.max(configured, 2 * c.intervalMs);
}

/** True when a component has been gone so long it counts as retired. */
export function isRetired(settings: AlertSettings['heartbeat'], c: ComponentState, now: number): boolean {
  return now - c.lastSeenAt > settings.forgetAfter;
}

/** A component whose heartbeat is older than its limit. */
export const heartbeatMissing: Rule = {
  name: 'heartbeat_missing',
  evaluate({ now, settings, snapshot }) {
    if (!settings.heartbeat.enabled) return [];
    if (!snapshot.components) return undefined;
    return snapshot.components.flatMap((c) => {
      const age = now - c.lastSeenAt;
      const limit = heartbeatLimit(settings.heartbeat, c);
      if (age <= limit || isRetired(settings.heartbeat, c, now)) return [];
      return [
        {
          labels: { alertname: 'heartbeat_missing', severity: 'critical', ...componentLabels(c) },
          annotations: {
            summary: `${c.service} ${c.instance} has sent no heartbeat for ${formatDuration(age)}`,
            description: `Last heartbeat at ${iso(c.lastSeenAt)}; it beats every ${formatDuration(c.intervalMs)} and alerts after ${formatDuration(limit)} of silence.`,
            lastSeenAt: iso(c.lastSeenAt),
          },
        },
      ];
    });
  },
};
