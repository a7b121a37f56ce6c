import { Bus, commonEnv, connectBus, natsEnv, parseConfig } from '@ferry/common';
import { freePort, startProcess, testLogger, waitForPort } from '@ferry/testkit';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { deployDir } from './paths.js';

const run = promisify(execFile);

/** A password nats-server parses as a string (start.sh insists on this form). */
export function randomPassword(): string {
  return `p${randomBytes(16).toString('hex')}`;
}

/** The passwords of the service roles in deploy/nats/auth.conf, as start.sh reads them. */
export const SERVICE_USERS = ['admin', 'monitor', 'gateway', 'scheduler', 'worker', 'uploader'] as const;

/** A copy of deploy/nats, with instruments added by the shipped generator script. */
export interface NatsConfigCopy {
  dir: string;
  /** Every password the configuration refers to, by variable name. */
  passwords: Record<string, string>;
  /** Password of each user (service roles and instrument-<name>). */
  userPasswords: Record<string, string>;
  remove(): Promise<void>;
}

/**
 * Copies deploy/nats into a temporary folder, rewrites it for `prefix` with with-prefix.sh
 * when given, and adds `instruments` with gen-instrument-user.sh --add --secrets, exactly
 * as docs/deployment.md tells operators to.
 */
export async function copyNatsConfig(instruments: readonly string[] = [], options: { prefix?: string } = {}): Promise<NatsConfigCopy> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-deploy-nats-'));
  const dir = join(root, 'nats');
  await cp(join(deployDir, 'nats'), dir, { recursive: true });
  if (options.prefix) await run('sh', [join(dir, 'with-prefix.sh'), options.prefix]);
  const secrets = join(root, 'instruments.env');
  // With a prefix, gen-instrument-user.sh finds it in auth.conf.
  for (const name of instruments) await run('sh', [join(dir, 'gen-instrument-user.sh'), '--add', '--secrets', secrets, name]);
  const passwords: Record<string, string> = {};
  const userPasswords: Record<string, string> = {};
  for (const user of SERVICE_USERS) {
    passwords[`NATS_${user.toUpperCase()}_PASSWORD`] = userPasswords[user] = randomPassword();
  }
  passwords.NATS_INSTRUMENT_DEMO_PASSWORD = userPasswords['instrument-demo'] = randomPassword();
  if (instruments.length > 0) {
    for (const line of (await readFile(secrets, 'utf8')).split('\n').filter(Boolean)) {
      const [name, value] = line.split('=') as [string, string];
      passwords[name] = value;
      const instrument = /^NATS_INSTRUMENT_(.+)_PASSWORD$/.exec(name)?.[1]?.toLowerCase().replace(/_/g, '-');
      if (instrument) userPasswords[`instrument-${instrument}`] = value;
    }
  }
  return { dir, passwords, userPasswords, remove: () => rm(root, { recursive: true, force: true }) };
}

/** nats-server started through deploy/nats/start.sh. */
export interface FerryNats {
  url: string;
  /** The monitoring endpoint (healthz, jsz). */
  httpUrl: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts nats-server from a configuration folder through its start.sh (which checks the
 * passwords), on free ports, with JetStream in a temporary folder. `env` holds the
 * passwords and any TLS settings; nothing else of this process's NATS_* reaches it.
 */
export async function startFerryNats(options: { dir: string; env: Record<string, string>; scheme?: 'nats' | 'tls' }): Promise<FerryNats> {
  const port = await freePort();
  const httpPort = await freePort();
  const store = await mkdtemp(join(tmpdir(), 'ferry-deploy-js-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('NATS_')) env[k] = v;
  Object.assign(env, options.env, { NATS_STORE_DIR: store });
  const server = startProcess({
    name: 'nats-server',
    command: 'sh',
    args: [join(options.dir, 'start.sh'), '-a', '127.0.0.1', '-p', String(port), '-m', String(httpPort)],
    env,
  });
  try {
    await waitForPort(port, 15_000, 'nats-server (start.sh)', () => server.child.exitCode === null);
  } catch (err) {
    await server.stop();
    await rm(store, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  }
  return {
    url: `${options.scheme ?? 'nats'}://127.0.0.1:${port}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    output: () => server.output(),
    async stop() {
      await server.stop();
      await rm(store, { recursive: true, force: true });
    },
  };
}

/**
 * Connects as a NATS user the way a service does: the environment parsed by `natsEnv`
 * and `connectBus`, with the user's own inbox prefix unless `env` says otherwise.
 */
export function connectAs(url: string, user: string, password: string, env: Record<string, string> = {}): Promise<Bus> {
  const config = parseConfig(
    'deploy-test',
    z.object({ ...commonEnv, ...natsEnv }),
    { NATS_URL: url, NATS_USER: user, NATS_PASSWORD: password, NATS_INBOX_PREFIX: `_INBOX_${user}`, FERRY_INSTANCE: 'test', ...env },
  );
  return connectBus(config, user.replace(/[^A-Za-z0-9_-]/g, '-'), testLogger(user));
}
