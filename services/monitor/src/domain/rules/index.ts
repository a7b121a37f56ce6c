import { backupMissing } from './backup-missing.js';
import { canaryFailed } from './canary.js';
import { deadLetters } from './dead-letters.js';
import { dependencyUnreachable } from './dependencies.js';
import { diskFullForecast, diskLow } from './disk-space.js';
import { jobFailed, uploadFailed } from './failures.js';
import { filesPilingUp, fileStuck } from './files-piling-up.js';
import { heartbeatMissing } from './heartbeat-missing.js';
import { instrumentSilent } from './instrument-silent.js';
import type { AlertCandidate, Rule, RuleContext } from './types.js';

export { DependencyTracker, type ProbeResult } from './dependencies.js';
export type * from './types.js';

/** Every rule the monitor runs. */
export const RULES: readonly Rule[] = [
  heartbeatMissing,
  diskLow,
  diskFullForecast,
  filesPilingUp,
  fileStuck,
  uploadFailed,
  jobFailed,
  deadLetters,
  dependencyUnreachable,
  backupMissing,
  instrumentSilent,
  canaryFailed,
];

/** What one evaluation found, and which rules could look (the others keep their alerts). */
export interface RulesOutcome {
  candidates: AlertCandidate[];
  evaluated: Set<string>;
  /** Rules that threw, with the error; treated as not evaluated. */
  errors: { rule: string; error: unknown }[];
}

/** Runs every rule; one that throws does not stop the others. */
export function runRules(ctx: RuleContext, rules: readonly Rule[] = RULES): RulesOutcome {
  const outcome: RulesOutcome = { candidates: [], evaluated: new Set(), errors: [] };
  for (const rule of rules) {
    try {
      const found = rule.evaluate(ctx);
      if (found === undefined) continue;
      outcome.evaluated.add(rule.name);
      for (const c of found) outcome.candidates.push({ ...c, labels: { ...c.labels, alertname: rule.name } });
    } catch (error) {
      outcome.errors.push({ rule: rule.name, error });
    }
  }
  return outcome;
}
