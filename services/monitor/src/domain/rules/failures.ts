import { iso } from '../format.js';
import type { FailureGroup, Rule } from './types.js';

function failureRule(kind: FailureGroup['kind'], name: string): Rule {
  return {
    name,
    evaluate({ settings, snapshot }) {
      if (!settings.failures.enabled) return [];
      if (!snapshot.failures) return undefined;
      return snapshot.failures
        .filter((f) => f.kind === kind && f.count > 0)
        .map((f) => {
          const what = kind === 'upload' ? 'upload' : `job ${f.pipeline}`;
          const files = f.count === 1 ? '1 file' : `${f.count} files`;
          const examples = f.examples.map((e) => `${e.path}: ${e.error}`).join('\n');
          return {
            labels: { alertname: name, severity: 'warning', instrument: f.instrument, ...(kind === 'job' ? { pipeline: f.pipeline } : {}) },
            annotations: {
              summary: `${files} of ${f.instrument} failed for good at ${what}`,
              description: `Retries are spent; the last failure was at ${iso(f.lastAt)}.${examples ? `\n${examples}` : ''}`,
              count: String(f.count),
            },
          };
        });
    },
  };
}

/** An upload that failed with no retry left (`upload.failed` with `final: true`). */
export const uploadFailed = failureRule('upload', 'upload_failed');
/** A job that failed with no retry left (`job.failed` with `final: true`). */
export const jobFailed = failureRule('job', 'job_failed');
