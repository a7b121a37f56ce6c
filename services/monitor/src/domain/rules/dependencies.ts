import { formatDuration } from '../format.js';
import type { DependencyState, Rule } from './types.js';

/** One probe's outcome. */
export interface ProbeResult {
  dependency: string;
  target: string;
  ok: boolean;
  error?: string;
}

/**
 * Remembers since when each probed dependency has been failing. Pure: the caller
 * passes each round's results and the time.
 */
export class DependencyTracker {
  private readonly states = new Map<string, DependencyState>();

  /**
   * Carries over failures that alerts already fire for (from before a restart or a
   * change of leader), so an alert that is still true does not resolve and fire again.
   */
  seed(failing: readonly { dependency: string; target: string; failingSince: number; lastError: string | null }[]): void {
    for (const f of failing) {
      const key = `${f.dependency}\u0000${f.target}`;
      if (!this.states.has(key)) this.states.set(key, { ...f });
    }
  }

  update(results: readonly ProbeResult[], now: number): DependencyState[] {
    const seen = new Set<string>();
    for (const r of results) {
      const key = `${r.dependency}\u0000${r.target}`;
      seen.add(key);
      const prev = this.states.get(key);
      this.states.set(key, {
        dependency: r.dependency,
        target: r.target,
        failingSince: r.ok ? null : (prev?.failingSince ?? now),
        lastError: r.ok ? null : (r.error ?? 'unreachable'),
      });
    }
    // A target no longer probed (zone removed) is forgotten, so its alert resolves.
    for (const key of [...this.states.keys()]) if (!seen.has(key)) this.states.delete(key);
    return [...this.states.values()];
  }
}

const NAMES: Record<string, string> = { postgres: 'PostgreSQL', nats: 'NATS', redis: 'Redis', zone: 'zone' };

/** A dependency whose probes have failed for at least `dependencies.for`. */
export const dependencyUnreachable: Rule = {
  name: 'dependency_unreachable',
  evaluate({ now, settings, dependencies }) {
    if (!settings.dependencies.enabled) return [];
    if (!dependencies) return undefined;
    return dependencies.flatMap((d) => {
      if (d.failingSince === null || now - d.failingSince < settings.dependencies.for) return [];
      const name = d.dependency === 'zone' ? `zone ${d.target}` : (NAMES[d.dependency] ?? d.dependency);
      return [
        {
          labels: { alertname: 'dependency_unreachable', severity: 'critical', dependency: d.dependency, ...(d.target ? { zone: d.target } : {}) },
          annotations: {
            summary: `${name} has been unreachable for ${formatDuration(now - d.failingSince)}`,
            description: d.lastError ?? 'unreachable',
          },
        },
      ];
    });
  },
};
