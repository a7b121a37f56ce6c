import { formatDuration, iso } from '../format.js';
import type { Rule } from './types.js';

/** Results are expected every interval; two missed checks (plus their limits) mean the canary itself stopped. */
const MISSED_CHECKS = 2;

/**
 * The end-to-end canary: fires when a canary instrument's last check did not come back
 * `ok` (late or failed), or when no result came for two intervals (the scheduler that
 * runs it is down or stuck). One alert per canary instrument; it resolves with the next
 * `ok` result.
 */
export const canaryFailed: Rule = {
  name: 'canary_failed',
  evaluate({ now, snapshot }) {
    if (!snapshot.canaries) return undefined;
    const alerts = [];
    for (const c of snapshot.canaries) {
      const expectedEvery = c.intervalMs + c.limitMs;
      const silentFor = now - c.checkedAt;
      const since = c.lastOkAt === null ? '' : ` The last good check was at ${iso(c.lastOkAt)}.`;
      if (silentFor > MISSED_CHECKS * expectedEvery) {
        alerts.push({
          labels: { alertname: 'canary_failed', severity: 'critical', instrument: c.instrument },
          annotations: {
            summary: `No canary result from ${c.instrument} for ${formatDuration(silentFor)}`,
            description: `A check is due every ${formatDuration(c.intervalMs)}; the last one (${iso(c.checkedAt)}, by ${c.instance}) came back ${c.result}. Is the scheduler running?${since}`,
          },
        });
      } else if (c.result !== 'ok') {
        const what = c.result === 'late' ? `was not done within ${formatDuration(c.limitMs)}` : 'failed';
        alerts.push({
          labels: { alertname: 'canary_failed', severity: 'critical', instrument: c.instrument },
          annotations: {
            summary: `The canary file on ${c.instrument} ${what}`,
            description: `Check at ${iso(c.checkedAt)} by ${c.instance}: ${c.detail ?? c.result}. The chain watcher → uploader → scheduler is not working end to end.${since}`,
          },
        });
      }
    }
    return alerts;
  },
};
