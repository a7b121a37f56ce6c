import { iso } from '../format.js';
import type { Rule } from './types.js';

/** Messages that a consumer could never handle, recorded from the dead-letter stream. */
export const deadLetters: Rule = {
  name: 'dead_letters',
  evaluate({ settings, snapshot }) {
    if (!settings.deadLetters.enabled) return [];
    if (!snapshot.deadLetters) return undefined;
    return snapshot.deadLetters
      .filter((d) => d.count > 0)
      .map((d) => ({
        labels: { alertname: 'dead_letters', severity: 'warning', stream: d.stream, consumer: d.consumer },
        annotations: {
          summary: `${d.count} message${d.count === 1 ? '' : 's'} of ${d.stream} dead-lettered by ${d.consumer}`,
          description: `Last at ${iso(d.lastAt)} on ${d.lastSubject}: ${d.lastError}`,
          count: String(d.count),
        },
      }));
  },
};
