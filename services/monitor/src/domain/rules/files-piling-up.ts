import { formatDuration } from '../format.js';
import type { Rule } from './types.js';

/** More files of one instrument waiting in one status than the limit allows. */
export const filesPilingUp: Rule = {
  name: 'files_piling_up',
  evaluate({ settings, snapshot }) {
    if (!settings.files.enabled) return [];
    if (!snapshot.waiting) return undefined;
    return snapshot.waiting.flatMap((w) => {
      const limit = settings.files.maxCountPerStatus[w.status] ?? settings.files.maxCount;
      if (w.count <= limit) return [];
      return [
        {
          labels: { alertname: 'files_piling_up', severity: 'warning', instrument: w.instrument, status: w.status },
          annotations: {
            summary: `${w.count} files of ${w.instrument} are waiting in ${w.status} (limit ${limit})`,
            count: String(w.count),
          },
        },
      ];
    });
  },
};

/** Files that have stayed in one status longer than that step's limit. */
export const fileStuck: Rule = {
  name: 'file_stuck',
  evaluate({ now, settings, snapshot }) {
    if (!settings.files.enabled) return [];
    if (!snapshot.waiting) return undefined;
    return snapshot.waiting.flatMap((w) => {
      const oldest = w.overdue[0];
      if (w.overdueCount === 0 || !oldest) return [];
      const limit = settings.files.maxAge[w.status];
      const count = w.overdueCount === 1 ? '1 file' : `${w.overdueCount} files`;
      return [
        {
          labels: { alertname: 'file_stuck', severity: 'warning', instrument: w.instrument, status: w.status },
          annotations: {
            summary: `${count} of ${w.instrument} in ${w.status} for longer than ${formatDuration(limit)}`,
            description: `Oldest: ${oldest.path}, in ${w.status} for ${formatDuration(now - oldest.since)}.${w.overdue.length > 1 ? ` Also: ${w.overdue.slice(1).map((f) => f.path).join(', ')}.` : ''}`,
            count: String(w.overdueCount),
          },
        },
      ];
    });
  },
};
