import { formatDuration, iso } from '../format.js';
import type { Rule } from './types.js';

/** An instrument with a configured quiet time that has produced no file for longer. */
export const instrumentSilent: Rule = {
  name: 'instrument_silent',
  evaluate({ now, settings, snapshot }) {
    const configured = Object.entries(settings.instruments);
    if (configured.length === 0) return [];
    if (!snapshot.lastDetections) return undefined;
    return configured.flatMap(([instrument, { quietTime }]) => {
      const last = snapshot.lastDetections?.[instrument];
      const reference = last ?? snapshot.since;
      if (reference === undefined || now - reference <= quietTime) return [];
      return [
        {
          labels: { alertname: 'instrument_silent', severity: 'warning', instrument },
          annotations: {
            summary: `${instrument} has produced no file for ${formatDuration(now - reference)}`,
            description: last === undefined ? `No file from ${instrument} since monitoring began (${iso(reference)}).` : `Last file detected at ${iso(last)}; quiet time ${formatDuration(quietTime)}.`,
          },
        },
      ];
    });
  },
};
