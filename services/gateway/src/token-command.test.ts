import { createDatabase } from '@ferry/common';
import { isolate } from '@ferry/testkit';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { TokenStore } from './adapters/token-store.js';
import { runTokenCommand } from './token-command.js';

function captured(env: Record<string, string | undefined>) {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { env, stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t) },
  };
}

async function authenticate(databaseUrl: string, token: string) {
  const db = createDatabase({ url: databaseUrl, maxConnections: 1 });
  try {
    return await new TokenStore(db).authenticate(token);
  } finally {
    await db.destroy();
  }
}

describe('ferry-gateway create-token', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('prints a working token on stdout and nothing else', async () => {
    const iso = await isolate('cli');
    const { out, io } = captured({ DATABASE_URL: iso.databaseUrl });
    expect(await runTokenCommand(['create-token', '--role', 'admin', '--name', 'first admin'], io)).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^fry_[A-Za-z0-9_-]{43}\n$/);
    expect(await authenticate(iso.databaseUrl, out.stdout.trim())).toMatchObject({ name: 'first admin', role: 'admin' });
  });

  it('writes the token to --out with mode 0600, replacing an older file', async () => {
    const iso = await isolate('cli');
    const dir = await mkdtemp(join(tmpdir(), 'ferry-gw-cli-'));
    dirs.push(dir);
    const file = join(dir, 'admin-token');
    await writeFile(file, 'old', { mode: 0o644 });
    const { out, io } = captured({ DATABASE_URL: iso.databaseUrl });
    expect(await runTokenCommand(['create-token', '--role', 'viewer', '--name', 'dash', '--out', file], io)).toBe(0);
    expect(out.stdout).toContain(`written to ${file}`);
    expect(out.stdout).not.toContain('fry_');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = (await readFile(file, 'utf8')).trim();
    expect(await authenticate(iso.databaseUrl, token)).toMatchObject({ name: 'dash', role: 'viewer' });
  });

  it.each([
    [[], /missing command/],
    [['make-token'], /unknown command "make-token"/],
    [['create-token', '--name', 'x'], /--role is required/],
    [['create-token', '--role', 'root', '--name', 'x'], /--role must be one of viewer, operator, admin/],
    [['create-token', '--role', 'admin'], /--name is required/],
    [['create-token', '--role', 'admin', '--name', 'x', '--colour', 'red'], /colour/],
    [['create-token', 'extra', '--role', 'admin', '--name', 'x'], /unexpected argument "extra"/],
  ])('exits 2 with usage for %j', async (argv, message) => {
    const { out, io } = captured({});
    expect(await runTokenCommand(argv, io)).toBe(2);
    expect(out.stderr).toMatch(message);
    expect(out.stderr).toContain('usage: ferry-gateway create-token');
    expect(out.stdout).toBe('');
  });

  it('exits 78 naming DATABASE_URL when it is missing', async () => {
    const { out, io } = captured({});
    expect(await runTokenCommand(['create-token', '--role', 'admin', '--name', 'x'], io)).toBe(78);
    expect(out.stderr).toMatch(/DATABASE_URL/);
  });

  it('prints help', async () => {
    const { out, io } = captured({});
    expect(await runTokenCommand(['--help'], io)).toBe(0);
    expect(out.stdout).toContain('--out');
  });

  // The built entry point, when `npm run build` has produced it.
  const built = join(import.meta.dirname, '..', 'dist', 'cli.js');
  it.skipIf(!existsSync(built))('runs as a program', async () => {
    const iso = await isolate('cli');
    const { stdout } = await promisify(execFile)(process.execPath, [built, 'create-token', '--role', 'operator', '--name', 'spawned'], {
      env: { PATH: process.env.PATH, DATABASE_URL: iso.databaseUrl },
    });
    expect(await authenticate(iso.databaseUrl, stdout.trim())).toMatchObject({ name: 'spawned', role: 'operator' });
    const usage = await promisify(execFile)(process.execPath, [built, 'create-token'], { env: { PATH: process.env.PATH } }).catch((err: { code: number; stderr: string }) => err);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('--role is required') });
  });
});
