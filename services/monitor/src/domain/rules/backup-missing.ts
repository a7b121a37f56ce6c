import { formatDuration, iso } from '../format.js';
import type { Rule } from './types.js';

/** No successful, verified backup within the limit (counted from the first run when there was never one). */
export const backupMissing: Rule = {
  name: 'backup_missing',
  evaluate({ now, settings, snapshot }) {
    if (!settings.backup.enabled) return [];
    const backups = snapshot.backups;
    if (!backups) return undefined;
    const reference = backups.lastVerifiedAt ?? snapshot.since;
    if (reference === undefined || now - reference <= settings.backup.maxAge) return [];
    const last = backups.last;
    const why = !last
      ? 'No backup has completed.'
      : last.error
        ? `The last backup (${iso(last.finishedAt)}) failed: ${last.error}`
        : !last.verified
          ? `The last backup (${iso(last.finishedAt)}) could not be verified.`
          : '';
    return [
      {
        labels: { alertname: 'backup_missing', severity: 'critical' },
        annotations: {
          summary:
            backups.lastVerifiedAt === null
              ? `No verified backup since monitoring began ${formatDuration(now - reference)} ago`
              : `The last verified backup is ${formatDuration(now - reference)} old`,
          description: `${backups.lastVerifiedAt === null ? '' : `Last verified backup at ${iso(backups.lastVerifiedAt)}. `}${why}`.trim(),
        },
      },
    ];
  },
};
