/**
 * A small lab, written into PostgreSQL the way the monitor's projection would: files
 * and their timelines, jobs, components with disks and disk samples, zones, alerts,
 * backups. Times are relative to `now`, so the page shows plausible ages.
 */
import type { Database, FileStatus } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { createHash } from 'node:crypto';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const GiB = 1024 ** 3;

function sha(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

function traceOf(seed: string): string {
  return sha(`trace:${seed}`).slice(0, 32);
}

/** The ids and names the browser tests look for. */
export const SEEDED = {
  /** A file mid-processing whose status the live test changes. */
  target: { id: 'f-target', instrument: 'ms1', path: 'runs/2025-06/QC_HeLa_0042.raw' },
  /** A file whose processing job failed, for the retry button. */
  failed: { id: 'f-failed', instrument: 'ms2', path: 'acq/plate7/B12_lipids.raw', error: 'thermo-qc exited 2: RawFileReader: B12_lipids.raw is truncated' },
  /** A folder acquisition with a manifest. */
  folder: { id: 'f-folder', instrument: 'tims1', path: 'data/2025-06-12/Sample_17.d' },
  /** The firing alert the silence test silences. */
  alert: { alertname: 'disk_full_forecast', instance: 'ms1-pc', path: '/data' },
} as const;

interface Step {
  event: string;
  status: FileStatus | null;
  /** Offset from the file's detection. */
  after: number;
  instance: string;
  details?: Record<string, unknown>;
}

/** The timeline of a file that reached `status`, with step durations that look real. */
function stepsTo(status: FileStatus, seed: number, zone: string, key: string, failed?: { step: string; error: string }): Step[] {
  const up = 20_000 + (seed % 7) * 9_000;
  const queue = 3_000 + (seed % 5) * 1_000;
  const run = 4 * MIN + (seed % 11) * 37_000;
  const steps: Step[] = [{ event: 'file.detected', status: 'detected', after: 0, instance: 'watcher-1' }];
  if (failed?.step === 'upload') {
    steps.push({ event: 'upload.failed', status: 'failed', after: up, instance: 'uploader-1', details: { attempt: 5, final: true, error: failed.error } });
    return steps;
  }
  if (status === 'detected' || status === 'uploading') return steps;
  steps.push({ event: 'upload.done', status: 'stored', after: up, instance: 'uploader-1', details: { zone, key, storedAt: '', bytesSent: 1 } });
  if (status === 'stored') return steps;
  steps.push({ event: 'job.queued', status: 'queued', after: up + queue, instance: 'scheduler-1', details: { pipeline: 'thermo-qc', jobId: `j-${seed}`, attempt: 1 } });
  if (status === 'queued') return steps;
  steps.push({ event: 'job.started', status: 'processing', after: up + queue + 2_000, instance: 'worker-2', details: { pipeline: 'thermo-qc', jobId: `j-${seed}`, attempt: 1 } });
  if (status === 'processing') return steps;
  if (status === 'failed') {
    steps.push({ event: 'job.failed', status: 'failed', after: up + queue + 2_000 + run, instance: 'worker-2', details: { pipeline: 'thermo-qc', jobId: `j-${seed}`, attempt: 3, exitCode: 2, final: true, error: failed?.error ?? 'exit 2' } });
    return steps;
  }
  steps.push({ event: 'job.done', status: 'done', after: up + queue + 2_000 + run, instance: 'worker-2', details: { pipeline: 'thermo-qc', jobId: `j-${seed}`, attempt: 1, exitCode: 0 } });
  return steps;
}

interface FileSpec {
  id: string;
  instrument: string;
  path: string;
  size: number;
  status: FileStatus;
  detectedAt: number;
  zone: string;
  kind?: 'file' | 'folder';
  failed?: { step: string; error: string };
  manifest?: { path: string; size: number; sha256: string }[];
}

const INSTRUMENTS = [
  { name: 'ms1', dir: 'runs/2025-06', ext: 'raw', base: 'QC_HeLa', size: 1.8 * GiB },
  { name: 'ms2', dir: 'acq/plate7', ext: 'raw', base: 'lipids', size: 650 * 1024 ** 2 },
  { name: 'tims1', dir: 'data/2025-06-12', ext: 'd', base: 'Sample', size: 4.2 * GiB },
  { name: 'cryo1', dir: 'grids/G23', ext: 'tiff', base: 'movie', size: 310 * 1024 ** 2 },
];

/** About 240 files over 30 days (for the storage plots), plus the named ones the tests use. */
function fileSpecs(now: number): FileSpec[] {
  const specs: FileSpec[] = [];
  let n = 0;
  for (let day = 29; day >= 0; day--) {
    // Weekdays busier than weekends; a quiet start that grows.
    const date = new Date(now - day * DAY);
    const weekend = date.getUTCDay() === 0 || date.getUTCDay() === 6;
    const count = weekend ? 2 : 6 + ((29 - day) % 5);
    for (let i = 0; i < count; i++) {
      n++;
      const inst = INSTRUMENTS[n % INSTRUMENTS.length]!;
      const detectedAt = now - day * DAY - (i + 1) * 97 * MIN - (n % 13) * MIN;
      if (detectedAt > now - 40 * MIN) continue;
      const status: FileStatus = n % 37 === 0 ? 'failed' : 'done';
      specs.push({
        id: `f-${String(n).padStart(4, '0')}`,
        instrument: inst.name,
        path: `${inst.dir}/${inst.base}_${String(n).padStart(4, '0')}.${inst.ext}`,
        size: Math.round(inst.size * (0.6 + ((n * 37) % 80) / 100)),
        status,
        detectedAt,
        zone: n % 9 === 0 ? 'scratch' : 'default',
        ...(inst.ext === 'd' ? { kind: 'folder' as const } : {}),
        ...(status === 'failed' ? { failed: { step: 'job:thermo-qc', error: 'thermo-qc exited 2: RawFileReader: file is truncated' } } : {}),
      });
    }
  }
  // The newest few, in every status, so the list's first screen shows the lifecycle.
  const recent: [FileStatus, string, number][] = [
    ['detected', 'ms1', 2 * MIN],
    ['uploading', 'tims1', 4 * MIN],
    ['stored', 'cryo1', 9 * MIN],
    ['queued', 'ms2', 14 * MIN],
  ];
  for (const [status, name, ago] of recent) {
    const inst = INSTRUMENTS.find((i) => i.name === name)!;
    n++;
    specs.push({
      id: `f-${String(n).padStart(4, '0')}`,
      instrument: name,
      path: `${inst.dir}/${inst.base}_${String(n).padStart(4, '0')}.${inst.ext}`,
      size: Math.round(inst.size),
      status,
      detectedAt: now - ago,
      zone: 'default',
      ...(inst.ext === 'd' ? { kind: 'folder' as const } : {}),
    });
  }
  specs.push({ id: SEEDED.target.id, instrument: 'ms1', path: SEEDED.target.path, size: Math.round(1.93 * GiB), status: 'processing', detectedAt: now - 21 * MIN, zone: 'default' });
  specs.push({
    id: SEEDED.failed.id,
    instrument: 'ms2',
    path: SEEDED.failed.path,
    size: 702_545_920,
    status: 'failed',
    detectedAt: now - 35 * MIN,
    zone: 'default',
    failed: { step: 'job:thermo-qc', error: SEEDED.failed.error },
  });
  specs.push({
    id: SEEDED.folder.id,
    instrument: 'tims1',
    path: SEEDED.folder.path,
    size: 3_900_000_000,
    status: 'done',
    detectedAt: now - 3 * HOUR,
    zone: 'default',
    kind: 'folder',
    manifest: [
      { path: 'analysis.tdf', size: 12_582_912, sha256: sha('tdf') },
      { path: 'analysis.tdf_bin', size: 3_887_000_000, sha256: sha('tdf_bin') },
      { path: 'chromatography-data.sqlite', size: 409_600, sha256: sha('chrom') },
      { path: 'Sample_17.m/method.xml', size: 8_488, sha256: sha('method') },
    ],
  });
  return specs;
}

/** Writes the lab into the (empty, migrated) database. */
export async function seedLab(db: Kysely<Database>, now = Date.now()): Promise<void> {
  const specs = fileSpecs(now);
  const iso = (t: number) => new Date(t).toISOString();
  const files = [];
  const events = [];
  const jobs = [];
  for (const [i, f] of specs.entries()) {
    const hash = sha(f.id);
    const key = `sha256/${hash.slice(0, 2)}/${hash.slice(2, 4)}/${hash}`;
    const steps = stepsTo(f.status, i, f.zone, key, f.failed);
    const stored = steps.find((s) => s.event === 'upload.done');
    const last = steps[steps.length - 1]!;
    const trace = traceOf(f.id);
    files.push({
      id: f.id,
      instrument: f.instrument,
      path: f.path,
      root: `/mnt/instruments/${f.instrument}`,
      kind: f.kind ?? 'file',
      size: f.size,
      sha256: hash,
      status: f.status,
      failed_step: f.failed ? f.failed.step : null,
      error: f.failed ? f.failed.error : null,
      zone: stored ? f.zone : null,
      key: stored ? key : null,
      mtime: iso(f.detectedAt - 30_000),
      detected_at: iso(f.detectedAt),
      stored_at: stored ? iso(f.detectedAt + stored.after) : null,
      updated_at: iso(f.detectedAt + last.after),
      trace_id: trace,
      manifest: f.manifest ? JSON.stringify(f.manifest) : sql<string>`null`,
    });
    for (const [si, s] of steps.entries()) {
      const details = { ...s.details };
      if (s.event === 'upload.done') {
        details.storedAt = iso(f.detectedAt + s.after);
        details.bytesSent = f.size;
      }
      if (s.event === 'file.detected') Object.assign(details, { size: f.size, mtime: iso(f.detectedAt - 30_000) });
      events.push({
        file_id: f.id,
        event_id: `${f.id}:${si}:${s.event}`,
        event: s.event,
        status: s.status,
        at: iso(f.detectedAt + s.after),
        instance: s.instance,
        trace_id: trace,
        details: JSON.stringify(details),
      });
    }
    const queued = steps.find((s) => s.event === 'job.queued');
    if (queued) {
      const started = steps.find((s) => s.event === 'job.started');
      const end = steps.find((s) => s.event === 'job.done' || s.event === 'job.failed');
      jobs.push({
        id: `j-${i}`,
        file_id: f.id,
        pipeline: 'thermo-qc',
        status: end ? (end.event === 'job.done' ? ('done' as const) : ('failed' as const)) : started ? ('processing' as const) : ('queued' as const),
        attempt: end?.event === 'job.failed' ? 3 : 1,
        exit_code: end ? (end.event === 'job.done' ? 0 : 2) : null,
        error: end?.event === 'job.failed' ? (f.failed?.error ?? 'exit 2') : null,
        queued_at: iso(f.detectedAt + queued.after),
        started_at: started ? iso(f.detectedAt + started.after) : null,
        finished_at: end ? iso(f.detectedAt + end.after) : null,
        updated_at: iso(f.detectedAt + last.after),
      });
    }
  }
  for (let i = 0; i < files.length; i += 200) await db.insertInto('files').values(files.slice(i, i + 200)).execute();
  for (let i = 0; i < events.length; i += 300) await db.insertInto('file_events').values(events.slice(i, i + 300)).execute();
  for (let i = 0; i < jobs.length; i += 300) await db.insertInto('jobs').values(jobs.slice(i, i + 300)).execute();

  await seedComponents(db, now);
  await seedAlerts(db, now);
  await seedBackups(db, now);
}

const TiB = 1024 * GiB;

/** The components and how long ago each was last heard from. */
function componentSpecs(now: number) {
  const iso = (t: number) => new Date(t).toISOString();
  return [
    // Fresh, with a disk that fills at ~40 GiB/h: the forecast says full in about a day.
    { service: 'watcher', instance: 'ms1-pc', ago: 12_000, interval: 30_000, disks: [{ path: '/data', freeBytes: 960 * GiB, totalBytes: 4 * TiB, perHour: -40 * GiB }], details: { instrument: 'ms1', watched: 1843, pending: 1, lastDetectionAt: iso(now - 2 * MIN) } },
    // Late: two beats missed, not yet stale (amber).
    { service: 'watcher', instance: 'ms2-pc', ago: 65_000, interval: 30_000, disks: [{ path: 'D:\\Data', freeBytes: 310 * GiB, totalBytes: 2 * TiB, perHour: 0 }], details: { instrument: 'ms2', watched: 912, pending: 0 } },
    // Gone: not heard from for 40 minutes (red).
    { service: 'watcher', instance: 'cryo-pc', ago: 40 * MIN, interval: 30_000, disks: [{ path: '/mnt/krios', freeBytes: 4.1 * TiB, totalBytes: 16 * TiB, perHour: -5 * GiB }], details: { instrument: 'cryo1', watched: 20211, pending: 0 } },
    { service: 'uploader', instance: 'worker-1', ago: 8_000, interval: 30_000, disks: [], details: { zone: 'default', zones: 'default,scratch', uploaded: 5120, failed: 3, inFlight: 2 } },
    { service: 'scheduler', instance: 'core', ago: 20_000, interval: 30_000, disks: [{ path: '/var/lib/ferry', freeBytes: 180 * GiB, totalBytes: 500 * GiB, perHour: -0.2 * GiB }], details: { mode: 'all', pipelines: 2, runningJobs: 1 } },
    { service: 'monitor', instance: 'core', ago: 5_000, interval: 30_000, disks: [], details: { leader: true, projected: 20344 } },
  ];
}

/** Heartbeats as of `now`: each component's last beat moves to its seeded age again. */
export async function beat(db: Kysely<Database>, now = Date.now()): Promise<void> {
  for (const c of componentSpecs(now)) {
    await db.updateTable('components').set({ last_seen_at: new Date(now - c.ago) }).where('service', '=', c.service).where('instance', '=', c.instance).execute();
  }
}

/** A component: its heartbeat row and, for a filling disk, samples the forecast fits. */
async function seedComponents(db: Kysely<Database>, now: number): Promise<void> {
  const iso = (t: number) => new Date(t).toISOString();
  for (const c of componentSpecs(now)) {
    await db
      .insertInto('components')
      .values({
        service: c.service,
        instance: c.instance,
        version: '0.1.0',
        started_at: iso(now - 3 * DAY - 2 * HOUR),
        last_seen_at: iso(now - c.ago),
        interval_ms: c.interval,
        disks: JSON.stringify(c.disks.map(({ path, freeBytes, totalBytes }) => ({ path, freeBytes: Math.round(freeBytes), totalBytes: Math.round(totalBytes) }))),
        details: JSON.stringify(c.details),
      })
      .execute();
    // Six hours of samples every 5 minutes along the disk's trend.
    const samples = [];
    for (const d of c.disks) {
      for (let t = now - 6 * HOUR; t <= now - c.ago; t += 5 * MIN) {
        const bucket = Math.floor(t / (5 * MIN)) * 5 * MIN;
        samples.push({
          service: c.service,
          instance: c.instance,
          path: d.path,
          bucket_at: iso(bucket),
          at: iso(t),
          free_bytes: Math.round(d.freeBytes - (d.perHour * (now - c.ago - t)) / HOUR),
          total_bytes: Math.round(d.totalBytes),
        });
      }
    }
    if (samples.length > 0) await db.insertInto('disk_samples').values(samples).onConflict((oc) => oc.doNothing()).execute();
  }
  for (const z of [
    { name: 'default', kind: 's3' as const, bucket: 'lab-raw', endpoint: 'https://s3.eu-central-1.amazonaws.com', region: 'eu-central-1', prefix: '', dir: null },
    { name: 'scratch', kind: 's3' as const, bucket: 'lab-scratch', endpoint: 'https://minio.lab.internal:9000', region: 'us-east-1', prefix: 'ferry', dir: null },
  ]) {
    await db.insertInto('zones').values({ ...z, reported_by: 'uploader/worker-1', updated_at: iso(now - 8_000) }).execute();
  }
}

async function seedAlerts(db: Kysely<Database>, now: number): Promise<void> {
  const iso = (t: number) => new Date(t).toISOString();
  const alerts = [
    {
      labels: { alertname: SEEDED.alert.alertname, severity: 'critical', service: 'watcher', instance: SEEDED.alert.instance, instrument: 'ms1', path: SEEDED.alert.path },
      annotations: { summary: '/data on ms1-pc will be full in about 1d', description: '960 GB free, filling at 40 GB/h over the last 6h (72 samples).' },
      status: 'firing' as const,
      starts: now - 47 * MIN,
      ends: null,
    },
    {
      labels: { alertname: 'heartbeat_missing', severity: 'critical', service: 'watcher', instance: 'cryo-pc', instrument: 'cryo1' },
      annotations: { summary: 'watcher cryo-pc has not been heard from for 40m', description: 'Last heartbeat 40m ago; expected every 30s.' },
      status: 'firing' as const,
      starts: now - 38 * MIN,
      ends: null,
    },
    {
      labels: { alertname: 'files_failing', severity: 'warning', instrument: 'ms2', step: 'upload' },
      annotations: { summary: '1 thermo-qc job of ms2 failed for good in the last hour', description: `acq/plate7/B12_lipids.raw: ${SEEDED.failed.error}` },
      status: 'firing' as const,
      starts: now - 30 * MIN,
      ends: null,
    },
    {
      labels: { alertname: 'backup_missing', severity: 'critical' },
      annotations: { summary: 'The last verified backup is 27h old' },
      status: 'resolved' as const,
      starts: now - 2 * DAY - 3 * HOUR,
      ends: now - 2 * DAY,
    },
    {
      labels: { alertname: 'files_piling_up', severity: 'warning', instrument: 'tims1', status: 'uploading' },
      annotations: { summary: '14 files of tims1 waiting in uploading for over 30m' },
      status: 'resolved' as const,
      starts: now - 5 * HOUR,
      ends: now - 4 * HOUR - 12 * MIN,
    },
  ];
  for (const [i, a] of alerts.entries()) {
    const fingerprint = sha(JSON.stringify(a.labels)).slice(0, 16);
    await db
      .insertInto('alerts')
      .values({
        fingerprint,
        rule: a.labels.alertname,
        labels: JSON.stringify(a.labels),
        annotations: JSON.stringify(a.annotations),
        status: a.status,
        group_key: `{alertname="${a.labels.alertname}"}#${i}`,
        starts_at: iso(a.starts),
        ends_at: a.ends === null ? null : iso(a.ends),
        updated_at: iso(a.ends ?? now - MIN),
        muted_by: null,
        last_notified_at: iso(a.starts + MIN),
        resolved_notified_at: a.ends === null ? null : iso(a.ends + MIN),
        firing_published: true,
        resolved_published: a.ends !== null,
      })
      .execute();
  }
}

async function seedBackups(db: Kysely<Database>, now: number): Promise<void> {
  const iso = (t: number) => new Date(t).toISOString();
  const rows = [];
  for (let d = 0; d < 5; d++) {
    const finished = now - d * DAY - 2 * HOUR;
    const ok = d !== 2;
    rows.push({
      id: `b-${d}`,
      database: 'ferry',
      zone: 'default',
      key: `backups/ferry/${new Date(finished).toISOString().slice(0, 10)}.dump`,
      size: 48_000_000 + d * 1_200_000,
      sha256: sha(`backup-${d}`),
      verified: ok,
      error: ok ? null : 'restore check: table files has 20344 rows in the source, 0 restored',
      tables: JSON.stringify({ files: { source: 20344, restored: ok ? 20344 : 0 }, file_events: { source: 81002, restored: ok ? 81002 : 0 } }),
      started_at: iso(finished - 95_000),
      finished_at: iso(finished),
    });
  }
  await db.insertInto('backups').values(rows).execute();
}
