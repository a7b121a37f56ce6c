import type { ComponentState } from '../domain/rules/types.js';

/** Test-only helpers for pure tests: no servers imported. */

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public ms = Date.UTC(2026, 10, 2, 9, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): number {
    this.ms += ms;
    return this.ms;
  }
  iso(offsetMs = 0): string {
    return new Date(this.ms + offsetMs).toISOString();
  }
}

/** A component as the rules see it. */
export function component(overrides: Partial<ComponentState> = {}): ComponentState {
  return { service: 'uploader', instance: 'w1', lastSeenAt: 0, startedAt: 0, intervalMs: 30_000, disks: [], details: {}, ...overrides };
}
