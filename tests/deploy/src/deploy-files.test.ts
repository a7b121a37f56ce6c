import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployDir, repoRoot } from './paths.js';

const run = promisify(execFile);
const ENVIRONMENTS = ['local', 'sandbox', 'production'] as const;
const PROFILES = ['dbs', 'core', 'workers', 'instrument', 'observability'] as const;

async function envFile(name: string): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  for (const line of (await readFile(join(deployDir, `${name}.env`), 'utf8')).split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    if (entries.has(m[1]!)) throw new Error(`${name}.env sets ${m[1]} twice`);
    entries.set(m[1]!, m[2]!);
  }
  return entries;
}

const SECRET = /PASSWORD|SECRET|WEBHOOK|ACCESS_KEY_ID/;

describe('env files (deploy/*.env)', () => {
  it('local, sandbox and production have the same keys', async () => {
    const [local, ...others] = await Promise.all(ENVIRONMENTS.map(envFile));
    for (const other of others) expect([...other.keys()].sort()).toEqual([...local!.keys()].sort());
  });

  it('hold every variable docker-compose.yml reads', async () => {
    const compose = await readFile(join(repoRoot, 'docker-compose.yml'), 'utf8');
    const used = new Set([...compose.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
    const keys = new Set((await envFile('production')).keys());
    expect([...used].filter((v) => !keys.has(v)).sort()).toEqual([]);
  });

  it('sandbox and production keep no secret: those are set on the hosts', async () => {
    for (const name of ['sandbox', 'production']) {
      const filled = [...(await envFile(name))].filter(([k, v]) => SECRET.test(k) && !k.endsWith('_PASSWORDS') && v !== '').map(([k]) => k);
      expect(filled, `${name}.env`).toEqual([]);
    }
  });
});

const haveCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  profiles?: string[];
}

async function composeConfig(profile: string, env: string): Promise<Record<string, ComposeService>> {
  const { stdout } = await run('docker-compose', ['--env-file', join(deployDir, `${env}.env`), '--profile', profile, 'config'], { cwd: repoRoot, env: { PATH: process.env.PATH } });
  return (parse(stdout) as { services: Record<string, ComposeService> }).services;
}

describe.runIf(haveCompose)('docker-compose.yml', () => {
  it.each(PROFILES)('parses for the %s profile the way CI checks it (only POSTGRES_PASSWORD set)', async (profile) => {
    await expect(run('docker-compose', ['--profile', profile, 'config', '-q'], { cwd: repoRoot, env: { PATH: process.env.PATH, POSTGRES_PASSWORD: 'ci' } })).resolves.toBeDefined();
  });

  it.each(ENVIRONMENTS)('parses with deploy/%s.env and every profile (as on a host with nothing else set)', async (env) => {
    const profiles = PROFILES.flatMap((p) => ['--profile', p]);
    await expect(run('docker-compose', ['--env-file', join(deployDir, `${env}.env`), ...profiles, 'config', '-q'], { cwd: repoRoot, env: { PATH: process.env.PATH } })).resolves.toBeDefined();
  });

  it('every Ferry service has a real health check, metrics, traces and its own NATS user and inbox', async () => {
    const auth = await readFile(join(deployDir, 'nats', 'auth.conf'), 'utf8');
    const users = new Set([...auth.matchAll(/^\s*(?:\{\s*)?user:\s*([A-Za-z0-9_-]+)/gm)].map((m) => m[1]!));
    const problems: string[] = [];
    const seen: string[] = [];
    for (const profile of ['core', 'workers', 'instrument']) {
      for (const [name, service] of Object.entries(await composeConfig(profile, 'local'))) {
        if (!service.profiles?.includes(profile) || !service.image?.startsWith('ferry')) continue;
        seen.push(name);
        const env = service.environment ?? {};
        if (name === 'migrate') {
          // docker-compose 1.29 prints `disable: true` as test: [NONE].
          if (!service.healthcheck?.disable && service.healthcheck?.test?.[0] !== 'NONE') problems.push('migrate: a one-shot needs no health check');
          continue;
        }
        const check = service.healthcheck?.test?.join(' ') ?? '';
        const expected = name === 'gateway' ? 'http://127.0.0.1:8080/health' : 'http://127.0.0.1:9464/metrics';
        if (!check.includes(expected)) problems.push(`${name}: health check "${check}" is not ${expected}`);
        if (name === 'gateway' ? env.METRICS_PORT !== undefined : env.METRICS_PORT !== '9464') problems.push(`${name}: METRICS_PORT=${env.METRICS_PORT}`);
        if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) problems.push(`${name}: no OTEL_EXPORTER_OTLP_ENDPOINT`);
        if (!env.NATS_USER || !users.has(env.NATS_USER)) problems.push(`${name}: NATS_USER ${env.NATS_USER} is not a user of auth.conf`);
        if (env.NATS_INBOX_PREFIX !== `_INBOX_${env.NATS_USER}`) problems.push(`${name}: NATS_INBOX_PREFIX ${env.NATS_INBOX_PREFIX}`);
        if (!env.NATS_PASSWORD) problems.push(`${name}: no NATS_PASSWORD`);
      }
    }
    expect(problems).toEqual([]);
    expect(seen.sort()).toEqual(['gateway', 'job-worker', 'migrate', 'monitor', 'scheduler', 'uploader', 'watcher']);
  });

  it('Redis asks for REDIS_PASSWORD, the services that use it are given it, and without one it does not start', async () => {
    const redis = (await composeConfig('dbs', 'local')).redis!;
    expect(redis.environment?.REDIS_PASSWORD).toBe('plocal0redis0password');
    expect(redis.healthcheck?.test?.join(' ')).toContain('REDISCLI_AUTH=');
    const users: string[] = [];
    for (const profile of ['core', 'workers']) {
      for (const [name, service] of Object.entries(await composeConfig(profile, 'local'))) {
        const url = service.environment?.REDIS_URL;
        if (!service.profiles?.includes(profile) || url === undefined || url === null) continue;
        users.push(name);
        expect(url, name).toBe('redis://:plocal0redis0password@redis:6379');
      }
    }
    expect(users.sort()).toEqual(['job-worker', 'monitor', 'scheduler']);

    // The start script as the container runs it (compose prints $ as $$), with the image's
    // entrypoint replaced by one that shows what it would run.
    const script = redis.command![2]!.replaceAll('$$', '$');
    const bin = await mkdtemp(join(tmpdir(), 'ferry-redis-'));
    try {
      await writeFile(join(bin, 'docker-entrypoint.sh'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const start = (password: string) => spawnSync('sh', ['-c', script], { env: { PATH: `${bin}:${process.env.PATH}`, REDIS_PASSWORD: password }, encoding: 'utf8' });
      const empty = start('');
      expect(empty.status).toBe(64);
      expect(empty.stderr).toContain('REDIS_PASSWORD is empty');
      const set = start('p0secret');
      expect(set.status).toBe(0);
      expect(set.stdout.trim()).toBe('redis-server --appendonly yes --maxmemory-policy noeviction --requirepass p0secret');
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it('Prometheus scrapes every Ferry service: /metrics on 9464, the gateway on 8080', async () => {
    const targets = parse(await readFile(join(deployDir, 'prometheus', 'targets', 'ferry.yml'), 'utf8')) as { targets: string[] }[];
    expect(targets.flatMap((t) => t.targets).sort()).toEqual(['gateway:8080', 'job-worker:9464', 'monitor:9464', 'scheduler:9464', 'uploader:9464', 'watcher:9464']);
    const services = await composeConfig('observability', 'local');
    expect(Object.keys(services).sort()).toEqual(expect.arrayContaining(['grafana', 'jaeger', 'otel-collector', 'prometheus']));
  });
});

/** Every metric definition in the sources: name → label names. */
async function definedMetrics(): Promise<Map<string, string[]>> {
  const defined = new Map<string, string[]>();
  const roots = ['packages/common/src', ...(await readdir(join(repoRoot, 'services'))).map((s) => `services/${s}/src`)];
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    const files = await Promise.all(entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve(e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []))));
    return files.flat();
  };
  const definition = /(?:counter|gauge|histogram)\(\s*'(ferry_[a-z_]+)',\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"),\s*\[([^\]]*)\]/g;
  for (const root of roots) {
    for (const file of await walk(join(repoRoot, root))) {
      for (const m of (await readFile(file, 'utf8')).matchAll(definition)) {
        defined.set(m[1]!, [...m[2]!.matchAll(/'([a-z_]+)'/g)].map((l) => l[1]!));
      }
    }
  }
  return defined;
}

describe('Grafana and the OpenTelemetry collector', () => {
  it("the dashboard's queries use metrics and labels the services define", async () => {
    const dashboard = JSON.parse(await readFile(join(deployDir, 'grafana', 'dashboards', 'ferry.json'), 'utf8')) as { panels: { title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[] };
    const datasources = parse(await readFile(join(deployDir, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: { uid: string }[] };
    const uid = datasources.datasources[0]!.uid;
    const defined = await definedMetrics();
    const problems: string[] = [];
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      if (!panel.targets) continue;
      if (panel.datasource?.uid !== uid) problems.push(`${panel.title}: data source ${panel.datasource?.uid}`);
      for (const { expr } of panel.targets) {
        const metric = /\b(ferry_[a-z_]+?)(?:_bucket|_count|_sum)?\b/.exec(expr)?.[1];
        if (!metric) continue;
        const name = defined.has(metric) ? metric : metric.replace(/_(bucket|count|sum)$/, '');
        used.add(name);
        const labels = defined.get(name);
        if (!labels) {
          problems.push(`${panel.title}: ${name} is not defined in any service`);
          continue;
        }
        const referenced = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim())).concat([...expr.matchAll(/[{,]\s*([a-z_]+)\s*(?:=~|!=|!~|=)/g)].map((m) => m[1]!));
        for (const label of referenced) if (!['le', 'service', 'instance', 'job', ...labels].includes(label)) problems.push(`${panel.title}: ${name} has no label ${label}`);
      }
    }
    expect(problems).toEqual([]);
    expect([...used].sort()).toEqual(
      expect.arrayContaining([
        'ferry_alerts_firing',
        'ferry_events_consumed_total',
        'ferry_events_published_total',
        'ferry_hash_duration_seconds',
        'ferry_http_request_duration_seconds',
        'ferry_queue_jobs',
        'ferry_upload_bytes_total',
        'ferry_upload_duration_seconds',
      ]),
    );
  });

  it('the collector receives OTLP on 4317 and 4318 and exports traces to Jaeger', async () => {
    const config = parse(await readFile(join(deployDir, 'otel-collector', 'config.yaml'), 'utf8')) as {
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    };
    expect(config.receivers.otlp.protocols).toEqual({ grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } });
    expect(config.service.pipelines.traces.receivers).toEqual(['otlp']);
    expect(config.service.pipelines.traces.exporters.map((e) => config.exporters[e]?.endpoint)).toEqual(['jaeger:4317']);
  });
});
