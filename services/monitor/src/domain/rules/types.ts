import type { Labels } from '../labels.js';
import type { AlertSettings, WaitingStatus } from '../settings.js';

/** What a rule says is wrong right now. Labels identify it; annotations describe it. */
export interface AlertCandidate {
  /** Includes `alertname` (the rule) and `severity`. */
  labels: Labels;
  /** At least `summary`; values that change (bytes, counts) belong here, never in labels. */
  annotations: Record<string, string>;
}

export interface ComponentState {
  service: string;
  instance: string;
  lastSeenAt: number;
  startedAt: number;
  intervalMs: number;
  disks: { path: string; freeBytes: number; totalBytes: number }[];
  details: Record<string, string | number | boolean | null>;
}

/** A least-squares line through one volume's recent free-space samples. */
export interface DiskTrend {
  service: string;
  instance: string;
  path: string;
  samples: number;
  firstAt: number;
  lastAt: number;
  /** Change of free bytes per millisecond (negative while the disk fills). */
  slope: number;
}

/** Files of one instrument waiting in one status. */
export interface WaitingFiles {
  instrument: string;
  status: WaitingStatus;
  count: number;
  /** Files past the status's time limit (at most a few listed). */
  overdue: { path: string; since: number }[];
  overdueCount: number;
}

/** Final failures of one step on one instrument within the window. */
export interface FailureGroup {
  kind: 'upload' | 'job';
  instrument: string;
  /** The job's pipeline; empty for uploads. */
  pipeline: string;
  count: number;
  lastAt: number;
  examples: { path: string; error: string }[];
}

export interface DeadLetterGroup {
  stream: string;
  consumer: string;
  count: number;
  lastAt: number;
  lastSubject: string;
  lastError: string;
}

export interface BackupState {
  /** Finish time of the last successful, verified backup. */
  lastVerifiedAt: number | null;
  /** The last backup of any outcome, to say why it is not good. */
  last: { finishedAt: number; verified: boolean; error: string | null } | null;
}

/** The last result of one canary instrument's end-to-end check. */
export interface CanaryState {
  instrument: string;
  /** The scheduler instance that ran it. */
  instance: string;
  result: 'ok' | 'late' | 'failed';
  checkedAt: number;
  latencyMs: number;
  limitMs: number;
  intervalMs: number;
  detail: string | null;
  /** The last check that came back `ok`, if any. */
  lastOkAt: number | null;
}

/**
 * Everything the rules read from PostgreSQL, gathered once per evaluation. A part is
 * `undefined` when it could not be read: its rules then keep their alerts as they are.
 */
export interface Snapshot {
  components?: ComponentState[];
  diskTrends?: DiskTrend[];
  waiting?: WaitingFiles[];
  failures?: FailureGroup[];
  deadLetters?: DeadLetterGroup[];
  backups?: BackupState;
  canaries?: CanaryState[];
  /** Latest detection per instrument (from files and from watcher heartbeats). */
  lastDetections?: Record<string, number>;
  /** When this deployment's monitor first ran: the reference time before any backup or file exists. */
  since?: number;
}

/** A probe's state as tracked over several evaluations. */
export interface DependencyState {
  /** `postgres`, `nats`, `redis` or `zone`. */
  dependency: string;
  /** The zone's name for zone probes, else empty. */
  target: string;
  failingSince: number | null;
  lastError: string | null;
}

/** What every rule receives. */
export interface RuleContext {
  now: number;
  settings: AlertSettings;
  snapshot: Snapshot;
  /** `undefined` when probes did not run this time. */
  dependencies?: DependencyState[];
}

/** A rule: its name (the `alertname`) and what it finds; `undefined` means it could not look. */
export interface Rule {
  name: string;
  evaluate(ctx: RuleContext): AlertCandidate[] | undefined;
}
