import type { Bus } from '@ferry/common';
import { waitFor } from '@ferry/testkit';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAs, copyNatsConfig, startFerryNats, type FerryNats, type NatsConfigCopy } from './nats-server.js';
import { repoRoot } from './paths.js';

// Operations with the shipped NATS configuration: the real watcher on an instrument's
// credentials, and the drain check of docs/deployment.md.
let config: NatsConfigCopy;
let nats: FerryNats;
const buses = new Map<'monitor' | 'admin', Bus>();
const bus = (role: 'monitor' | 'admin') => buses.get(role)!;

beforeAll(async () => {
  config = await copyNatsConfig();
  nats = await startFerryNats({ dir: config.dir, env: config.passwords });
  buses.set('monitor', await connectAs(nats.url, 'monitor', config.userPasswords.monitor!));
  buses.set('admin', await connectAs(nats.url, 'admin', config.userPasswords.admin!, { NATS_INBOX_PREFIX: '_INBOX' }));
  // The core services create the streams when they start; the monitor here.
  await bus('monitor').ensureStreams();
});

afterAll(async () => {
  await Promise.allSettled([...buses.values()].map((b) => b.close()));
  await nats?.stop();
  await config?.remove();
});

describe('the real watcher with an instrument PC\'s credentials', () => {
  it('starts (streams are managed elsewhere), announces a file and sends heartbeats, and stops cleanly', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'ferry-deploy-watch-'));
    const count = async (stream: string, subject: string) =>
      Object.entries((await bus('monitor').jsm.streams.info(stream, { subjects_filter: subject })).state.subjects ?? {}).reduce((n, [, c]) => n + c, 0);
    const detectedBefore = await count('FILES', 'file.detected.demo');
    const beatsBefore = await count('HEARTBEATS', 'heartbeat.watcher.*');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NATS_URL: nats.url,
      NATS_USER: 'instrument-demo',
      NATS_PASSWORD: config.userPasswords['instrument-demo'],
      NATS_INBOX_PREFIX: '_INBOX_instrument-demo',
      INSTRUMENT: 'demo',
      WATCH_DIR: join(folder, 'data'),
      WATCH_STABLE: '300ms',
      WATCH_POLL: 'true',
      WATCH_STATE_FILE: join(folder, 'state.json'),
      FERRY_INSTANCE: 'pc1',
      LOG_LEVEL: 'info',
    };
    await mkdir(join(folder, 'data'));
    const watcher = spawn(process.execPath, [join(repoRoot, 'services', 'watcher', 'dist', 'main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    watcher.stdout.on('data', (d: Buffer) => (output += d.toString()));
    watcher.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => watcher.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the watcher to start', () => output.includes('watcher started') || watcher.exitCode !== null, { timeoutMs: 20_000 });
      expect(output).toContain('streams are managed elsewhere');
      await writeFile(join(folder, 'data', 'run-1.raw'), 'acquired bytes');
      await waitFor(`the watcher to announce the file (output: ${output.slice(-2000)})`, async () => (await count('FILES', 'file.detected.demo')) > detectedBefore, { timeoutMs: 20_000 });
      await waitFor('a watcher heartbeat', async () => (await count('HEARTBEATS', 'heartbeat.watcher.*')) > beatsBefore, { timeoutMs: 20_000 });
      // The only refusal is the stream management it tried at start.
      expect(output).not.toMatch(/Permissions Violation for (Subscription|Publish to "(?!\$JS\.API\.STREAM\.))/i);
    } finally {
      watcher.kill('SIGTERM');
      // A clean stop on SIGTERM exits 128 + 15 (CONVENTIONS.md).
      expect(await exited).toBe(143);
      await rm(folder, { recursive: true, force: true });
    }
  });
});

// pending.sh reads the server's JSON with jq, as an operator's shell does.
const haveJq = spawnSync('jq', ['--version']).status === 0;

describe.runIf(haveJq)('the drain check (deploy/nats/pending.sh)', () => {
  it('says which consumers still have messages, and exits 0 once they are handled', async () => {
    const admin = bus('admin');
    // An uploader's durable on FILES with two files it has not handled yet.
    await admin.jsm.consumers.add('FILES', { durable_name: 'uploader', ack_policy: 'explicit', filter_subject: 'file.detected.drain' });
    await admin.js.publish('file.detected.drain', 'x');
    await admin.js.publish('file.detected.drain', 'y');
    const check = async () => {
      const jsz = await (await fetch(`${nats.httpUrl}/jsz?consumers=true`)).text();
      const r = spawnSync('sh', [join(config.dir, 'pending.sh')], { input: jsz, encoding: 'utf8' });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const busy = await check();
    expect(busy.status).toBe(1);
    expect(busy.out).toMatch(/^uploader\tpending 2\tack pending 0$/m);
    expect(busy.out).toContain('FILES: 2 messages not handled yet');

    const consumer = await admin.js.consumers.get('FILES', 'uploader');
    for (let i = 0; i < 2; i++) {
      const m = await consumer.next({ expires: 2000 });
      m?.ack();
    }
    await admin.nc.flush();
    const drained = await waitFor('the consumer to be drained', async () => {
      const r = await check();
      return r.status === 0 ? r : undefined;
    });
    expect(drained.out).toContain('FILES: drained');
  });
});
