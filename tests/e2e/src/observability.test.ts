import { createDatabase, fileIdFor, type Database } from '@ferry/common';
import { createApiToken } from '@ferry/gateway';
import { isolate, waitFor, type Isolated } from '@ferry/testkit';
import type { Kysely } from 'kysely';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue, type Family } from './exposition.js';
import { OTLP_KIND, OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { startService, type ServiceName, type ServiceProcess } from './processes.js';

// The services as separate processes, as deployed: each with its own tracer provider
// exporting OTLP/HTTP to a receiver on loopback, and its own /metrics on a free port.
const SERVICES: ServiceName[] = ['monitor', 'gateway', 'scheduler', 'uploader', 'watcher'];
/** The services one file passes through (the gateway only reads). */
const FILE_SERVICES = ['watcher', 'uploader', 'scheduler', 'monitor'];

describe('one file through the services running as processes: its trace and every /metrics', () => {
  let iso: Isolated;
  let db: Kysely<Database>;
  const receiver = new OtlpReceiver();
  const services = new Map<ServiceName, ServiceProcess>();
  const dirs: string[] = [];
  const content = randomBytes(3 * 1024 * 1024 + 5);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const fileId = fileIdFor('ms1', 'obs-1.raw', sha256);
  let traceId: string;

  beforeAll(async () => {
    await receiver.start();
    iso = await isolate('obs');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-obs-'));
    const state = await mkdtemp(join(tmpdir(), 'ferry-obs-state-'));
    dirs.push(dir, state);
    const env = {
      ...iso.env,
      // Info lines carry the metrics port and the start; the rest of the output is kept for failures.
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      PORT: '0',
      HOST: '127.0.0.1',
      INSTRUMENT: 'ms1',
      WATCH_DIR: dir,
      WATCH_STATE_FILE: join(state, 'watcher.jsonl'),
      WATCH_STABLE: '500ms',
      WATCH_POLL_INTERVAL: '200ms',
      PIPELINE_COMMAND: 'test "$(sha256sum "$FERRY_FILE_PATH" | cut -c1-64)" = "$FERRY_FILE_SHA256"',
      JOB_BACKOFF: '200ms',
    };
    // Started one after the other: the monitor first, so it sees every event from the start.
    for (const name of SERVICES) services.set(name, await startService(name, env));
    db = createDatabase({ url: iso.databaseUrl, maxConnections: 2 });

    await writeFile(join(dir, 'obs-1.raw'), content);
    const row = await waitFor(
      'the file done in the monitor projection',
      async () => {
        const f = await db.selectFrom('files').select(['status', 'trace_id']).where('id', '=', fileId).executeTakeFirst();
        return f?.status === 'done' ? f : false;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
    traceId = row.trace_id!;
  }, 180_000);

  afterAll(async () => {
    // The watcher first, the monitor last: the reverse of the start.
    for (const name of [...SERVICES].reverse()) await services.get(name)?.stop();
    await db?.destroy();
    await receiver.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('makes the file one trace: one root (the detection), every parent present, spans of every service, the right parents, a gateway request joining it', async () => {
    const one = (spans: ReceivedSpan[], service: string, name: string) => {
      const found = spans.filter((s) => s.service === service && s.name === name);
      if (found.length !== 1) throw new Error(`${found.length} spans "${name}" of ${service} in the trace (have: ${spans.map((s) => `${s.service}:${s.name}`).join(', ')})`);
      return found[0]!;
    };
    const expected: [string, string][] = [
      ['watcher', 'file.detect'],
      ['watcher', 'file.detected publish'],
      ['uploader', 'file.detected process'],
      ['uploader', 'upload'],
      ['uploader', 'upload.done publish'],
      ['scheduler', 'upload.done process'],
      ['scheduler', 'job.queued publish'],
      ['scheduler', 'job default enqueue'],
      ['scheduler', 'job default'],
      ['scheduler', 'job.started publish'],
      ['scheduler', 'job.done publish'],
      ['monitor', 'file.detected process'],
      ['monitor', 'upload.done process'],
      ['monitor', 'job.queued process'],
      ['monitor', 'job.started process'],
      ['monitor', 'job.done process'],
    ];
    // A parent ends after its children, so it can arrive in a later batch: wait until the
    // tree is whole, saying what is missing if it never is.
    const spans = await waitFor(
      'the whole trace of the file',
      () => {
        const trace = receiver.trace(traceId);
        const ids = new Set(trace.map((s) => s.spanId));
        const orphans = trace.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId));
        if (orphans.length > 0) throw new Error(`parents not (yet) received of: ${orphans.map((s) => `${s.service}:${s.name}`).join(', ')}`);
        for (const [service, name] of expected) one(trace, service, name);
        return trace;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(receiver.refused).toEqual([]);

    // One root: the watcher's detection of this file.
    const roots = spans.filter((s) => s.parentSpanId === '');
    expect(roots.map((s) => `${s.service}:${s.name}`)).toEqual(['watcher:file.detect']);
    expect(roots[0]!.attributes['ferry.file.id']).toBe(fileId);
    // Every service the file went through, each span under its own service's name and tracer.
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(FILE_SERVICES));
    for (const s of spans) expect(s.scope, `${s.service}:${s.name}`).toBe(`ferry.${s.service}`);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (service: string, name: string) => {
      const parent = byId.get(one(spans, service, name).parentSpanId);
      return parent ? `${parent.service}:${parent.name}` : undefined;
    };
    const relations: [string, string, string][] = [
      ['watcher', 'file.detected publish', 'watcher:file.detect'],
      ['uploader', 'file.detected process', 'watcher:file.detected publish'],
      ['monitor', 'file.detected process', 'watcher:file.detected publish'],
      ['uploader', 'upload', 'uploader:file.detected process'],
      ['uploader', 'upload.done publish', 'uploader:file.detected process'],
      ['scheduler', 'upload.done process', 'uploader:upload.done publish'],
      ['monitor', 'upload.done process', 'uploader:upload.done publish'],
      ['scheduler', 'job.queued publish', 'scheduler:upload.done process'],
      ['scheduler', 'job default enqueue', 'scheduler:upload.done process'],
      // Across Redis: the worker's span continues the context stored in the BullMQ job.
      ['scheduler', 'job default', 'scheduler:job default enqueue'],
      ['scheduler', 'job.started publish', 'scheduler:job default'],
      ['scheduler', 'job.done publish', 'scheduler:job default'],
      ['monitor', 'job.queued process', 'scheduler:job.queued publish'],
      ['monitor', 'job.started process', 'scheduler:job.started publish'],
      ['monitor', 'job.done process', 'scheduler:job.done publish'],
    ];
    for (const [service, name, parent] of relations) expect(parentOf(service, name), `parent of ${service}:${name}`).toBe(parent);
    for (const s of spans) {
      if (s.name.endsWith(' publish') || s.name.endsWith(' enqueue')) expect(s.kind, `${s.service}:${s.name}`).toBe(OTLP_KIND.producer);
      if (s.name.endsWith(' process')) expect(s.kind, `${s.service}:${s.name}`).toBe(OTLP_KIND.consumer);
    }
    expect(one(spans, 'scheduler', 'job default').kind).toBe(OTLP_KIND.consumer);

    // A request to the gateway that carries the file's trace context joins the trace:
    // its SERVER span is a child of the span named in the traceparent header.
    const root = roots[0]!;
    const gatewayPort = services.get('gateway')!.lines.find((l) => l.msg === 'gateway listening')?.port;
    expect(gatewayPort, 'the gateway logged its port').toEqual(expect.any(Number));
    const { token } = await createApiToken(db, { name: 'observability', role: 'viewer' });
    const res = await fetch(`http://127.0.0.1:${String(gatewayPort)}/api/v1/files/${fileId}`, {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${root.spanId}-01` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { traceId: string }).traceId).toBe(traceId);
    const request = await waitFor(
      "the gateway's span of the request",
      () => receiver.trace(traceId).find((s) => s.service === 'gateway' && s.kind === OTLP_KIND.server),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(request.parentSpanId).toBe(root.spanId);
    expect(request.scope).toBe('ferry.gateway');
    expect(request.name).toMatch(/^GET /);
    // Still one tree with one root.
    const withRequest = receiver.trace(traceId);
    const ids = new Set(withRequest.map((s) => s.spanId));
    expect(withRequest.filter((s) => s.parentSpanId === '').map((s) => s.name)).toEqual(['file.detect']);
    expect(withRequest.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);

    // The log lines written while handling the file carry its trace id, and the span they were written in.
    const logged = (service: ServiceName, msg: string) => services.get(service)!.lines.find((l) => l.msg === msg && l.fileId === fileId);
    expect(logged('uploader', 'stored')).toMatchObject({ trace_id: traceId });
    expect(logged('scheduler', 'job queued')).toMatchObject({ trace_id: traceId, span_id: one(spans, 'scheduler', 'upload.done process').spanId });
    expect(logged('scheduler', 'job done')).toMatchObject({ trace_id: traceId, span_id: one(spans, 'scheduler', 'job default').spanId });
  });

  it('serves /metrics on every service in the exposition format, with the key series and plausible values', async () => {
    const scrape = async (name: ServiceName): Promise<Map<string, Family>> => {
      const port = services.get(name)!.metricsPort;
      expect(port, `${name} logged its metrics port`).toBeGreaterThan(0);
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parseExposition(await res.text());
      // Every series says which service and instance it comes from.
      for (const f of families.values()) {
        for (const s of f.samples) expect(s.labels, `${s.name} of ${name}`).toMatchObject({ service: name, instance: 'test' });
      }
      expect(sampleValue(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      return families;
    };
    const size = content.length;

    // The monitor projects the last event a moment after the file shows done; scrape then.
    const watcher = await scrape('watcher');
    expect(sampleValue(watcher, 'ferry_files_detected_total', { instrument: 'ms1' })).toBe(1);
    expect(sampleValue(watcher, 'ferry_hash_bytes_total', { instrument: 'ms1' })).toBeGreaterThanOrEqual(size);
    expect(sampleValue(watcher, 'ferry_hash_duration_seconds_count', { instrument: 'ms1' })).toBeGreaterThanOrEqual(1);
    expect(sampleValue(watcher, 'ferry_files_pending', { instrument: 'ms1' })).toBe(0);
    const total = sampleValue(watcher, 'ferry_volume_total_bytes', { instrument: 'ms1' });
    expect(total).toBeGreaterThan(0);
    expect(sampleValue(watcher, 'ferry_volume_free_bytes', { instrument: 'ms1' })).toBeLessThanOrEqual(total);
    expect(sampleValue(watcher, 'ferry_events_published_total', { event: 'file.detected' })).toBe(1);
    expect(sampleValue(watcher, 'ferry_events_published_total', { event: 'heartbeat' })).toBeGreaterThanOrEqual(1);

    const uploader = await scrape('uploader');
    expect(sampleValue(uploader, 'ferry_upload_bytes_total', { zone: 'default' })).toBeGreaterThanOrEqual(size);
    expect(sampleValue(uploader, 'ferry_uploads_total', { zone: 'default', outcome: 'stored' })).toBe(1);
    expect(sampleValue(uploader, 'ferry_upload_duration_seconds_count', { zone: 'default' })).toBe(1);
    expect(sampleValue(uploader, 'ferry_uploads_in_flight', { zone: 'default' })).toBe(0);
    expect(sampleValue(uploader, 'ferry_events_consumed_total', { event: 'file.detected', consumer: 'uploader', outcome: 'handled' })).toBe(1);
    expect(sampleValue(uploader, 'ferry_event_handler_duration_seconds_count', { event: 'file.detected', consumer: 'uploader' })).toBe(1);
    expect(sampleValue(uploader, 'ferry_events_published_total', { event: 'upload.done' })).toBe(1);

    const scheduler = await scrape('scheduler');
    expect(sampleValue(scheduler, 'ferry_jobs_total', { pipeline: 'default', outcome: 'done' })).toBe(1);
    expect(sampleValue(scheduler, 'ferry_job_duration_seconds_count', { pipeline: 'default' })).toBe(1);
    expect(sampleValue(scheduler, 'ferry_queue_jobs', { queue: 'jobs-default', state: 'completed' })).toBe(1);
    expect(sampleValue(scheduler, 'ferry_queue_jobs', { queue: 'jobs-default', state: 'waiting' })).toBe(0);
    expect(sampleValue(scheduler, 'ferry_events_consumed_total', { event: 'upload.done', consumer: 'scheduler', outcome: 'handled' })).toBe(1);

    const monitor = await waitFor('the monitor to have projected job.done', async () => {
      const m = await scrape('monitor');
      return sampleValue(m, 'ferry_events_projected_total', { event: 'job.done' }) === 1 ? m : false;
    });
    expect(sampleValue(monitor, 'ferry_events_consumed_total', { event: 'file.detected', consumer: 'monitor-files', outcome: 'handled' })).toBe(1);
    expect(sampleValue(monitor, 'ferry_events_consumed_total', { event: 'job.done', consumer: 'monitor-jobs', outcome: 'handled' })).toBe(1);
    expect(sampleValue(monitor, 'ferry_projection_lag_seconds_count', { event: 'file.detected' })).toBe(1);
    expect(sampleValue(monitor, 'ferry_outbox_pending')).toBe(0);
    const firing = monitor.get('ferry_alerts_firing');
    expect(firing?.type).toBe('gauge');
    expect(firing!.samples.map((s) => s.labels.rule)).toEqual(expect.arrayContaining(['heartbeat_missing', 'disk_low', 'files_piling_up']));
    expect(monitor.get('ferry_notifications_total')?.type).toBe('counter');

    // The gateway serves the same process metrics on its METRICS_PORT (its HTTP metrics are its own).
    await scrape('gateway');

    // The families the dashboard queries have the types it expects.
    const types: [Map<string, Family>, string, Family['type']][] = [
      [watcher, 'ferry_hash_duration_seconds', 'histogram'],
      [watcher, 'ferry_volume_free_bytes', 'gauge'],
      [uploader, 'ferry_upload_duration_seconds', 'histogram'],
      [uploader, 'ferry_uploads_in_flight', 'gauge'],
      [scheduler, 'ferry_queue_jobs', 'gauge'],
      [scheduler, 'ferry_job_duration_seconds', 'histogram'],
      [scheduler, 'ferry_backups_total', 'counter'],
      [scheduler, 'ferry_backup_last_success_timestamp_seconds', 'gauge'],
      [monitor, 'ferry_projection_lag_seconds', 'histogram'],
    ];
    for (const [families, name, type] of types) expect(families.get(name)?.type, name).toBe(type);
  });
});
