import { createHash } from 'node:crypto';

const at = () => new Date().toISOString();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
/** Unique ids: JetStream drops a second message with the same id (Nats-Msg-Id) as a duplicate. */
const uid = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2)}`;

/** The NATS users of the permission tests: the service roles and two instrument PCs. */
export const ROLES = ['instrument-demo', 'instrument-orbitrap1', 'uploader', 'scheduler', 'worker', 'monitor', 'gateway'] as const;
export type Role = (typeof ROLES)[number];

/** One publication of the catalog and the users allowed to make it. */
export interface PublishCase {
  event: string;
  /** What the case shows, for the test's name. */
  label: string;
  sample: Record<string, unknown>;
  by: readonly Role[];
}

export function fileDetected(instrument: string, path = 'run-1.raw'): Record<string, unknown> {
  const sha256 = sha(`${instrument}/${path}/${Math.random()}`);
  return {
    fileId: sha256.slice(0, 32),
    instrument,
    path,
    root: `/instruments/${instrument}`,
    kind: 'file',
    size: 123,
    sha256,
    mtime: at(),
    detectedAt: at(),
    watcher: `${instrument}-pc`,
  };
}

export function heartbeat(service: string, instance: string): Record<string, unknown> {
  return { service, instance, version: '1.0.0', at: at(), intervalMs: 30_000, startedAt: at(), disks: [], details: {} };
}

const job = (pipeline: string) => ({ jobId: uid('job'), fileId: 'f1', pipeline, instrument: 'demo', sha256: sha('job'), attempt: 1, at: at() });

export function deadLetter(stream: string, consumer: string): Record<string, unknown> {
  return { stream, consumer, subject: 'file.detected.demo', sequence: 1, deliveries: 1, reason: 'invalid', error: 'test', data: '{}', headers: {}, at: at() };
}

export function command(verb: string): Record<string, unknown> {
  return { commandId: uid('c'), verb, by: 'operator', at: at(), args: {} };
}

/**
 * Who may publish what: every event of the catalog, published by the users that publish
 * it in a running system (DESIGN.md's table), and refused to everyone else. A new event
 * in the catalog fails the coverage test until it is added here and to deploy/nats/auth.conf.
 */
export function publishCases(): PublishCase[] {
  const fileId = 'f1';
  const sha256 = sha('file');
  return [
    { event: 'file.detected', label: "demo's file", sample: fileDetected('demo'), by: ['instrument-demo'] },
    { event: 'file.detected', label: "orbitrap1's file", sample: fileDetected('orbitrap1'), by: ['instrument-orbitrap1'] },
    {
      event: 'upload.done',
      label: 'stored',
      sample: { fileId, instrument: 'demo', path: 'a.raw', size: 1, sha256, zone: 'default', key: `sha256/${sha256}`, existed: false, storedAt: at(), durationMs: 5, uploader: 'w1' },
      by: ['uploader'],
    },
    {
      event: 'upload.failed',
      label: 'failed',
      sample: { fileId, instrument: 'demo', path: 'a.raw', sha256, error: 'boom', attempt: 1, final: false, failedAt: at(), uploader: 'w1' },
      by: ['uploader'],
    },
    { event: 'upload.progress', label: 'progress', sample: { fileId, instrument: 'demo', bytes: 1, total: 2, at: at() }, by: ['uploader'] },
    { event: 'job.queued', label: 'queued', sample: job('qc'), by: ['scheduler'] },
    { event: 'job.started', label: 'started', sample: job('qc'), by: ['scheduler', 'worker'] },
    { event: 'job.done', label: 'done', sample: { ...job('qc'), exitCode: 0, durationMs: 10 }, by: ['scheduler', 'worker'] },
    { event: 'job.failed', label: 'failed', sample: { ...job('qc'), exitCode: 1, error: 'exit 1', final: true }, by: ['scheduler', 'worker'] },
    { event: 'job.skipped', label: 'no pipeline', sample: { fileId, instrument: 'demo', sha256, reason: 'no pipeline matched', at: at() }, by: ['scheduler'] },
    {
      event: 'canary.result',
      label: 'canary',
      sample: { checkId: uid('k'), instrument: 'canary', instance: 'core', result: 'ok', latencyMs: 100, limitMs: 120_000, intervalMs: 300_000, sha256, checkedAt: at() },
      by: ['scheduler'],
    },
    {
      event: 'backup.completed',
      label: 'backup',
      sample: { backupId: uid('b'), database: 'ferry', zone: 'backups', key: 'backups/ferry/x.dump', size: 10, sha256, verified: true, tables: {}, startedAt: at(), finishedAt: at() },
      by: ['scheduler'],
    },
    { event: 'alert.firing', label: 'firing', sample: { fingerprint: 'fp', rule: 'disk_low', labels: {}, summary: 's', startsAt: at() }, by: ['monitor'] },
    { event: 'alert.resolved', label: 'resolved', sample: { fingerprint: 'fp', rule: 'disk_low', labels: {}, summary: 's', startsAt: at(), endsAt: at() }, by: ['monitor'] },
    { event: 'command', label: 'retry', sample: command('retry'), by: ['gateway'] },
    { event: 'dead.letter', label: "the uploader's", sample: deadLetter('FILES', 'uploader'), by: ['uploader', 'monitor'] },
    { event: 'dead.letter', label: "the scheduler's", sample: deadLetter('OPS', 'scheduler-commands'), by: ['scheduler', 'monitor'] },
    { event: 'heartbeat', label: "a watcher's", sample: heartbeat('watcher', 'demo-pc1'), by: ['instrument-demo', 'instrument-orbitrap1'] },
    { event: 'heartbeat', label: "an uploader's", sample: heartbeat('uploader', 'w1'), by: ['uploader'] },
    { event: 'heartbeat', label: "a scheduler's", sample: heartbeat('scheduler', 'core'), by: ['scheduler', 'worker'] },
    { event: 'heartbeat', label: "the canary's", sample: heartbeat('canary', 'canary'), by: ['scheduler'] },
    { event: 'heartbeat', label: "a monitor's", sample: heartbeat('monitor', 'core'), by: ['monitor'] },
  ];
}
