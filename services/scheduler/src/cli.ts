import { ConfigError, errorMessage, META, parseConfig } from '@ferry/common';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { listStoredBackups } from './adapters/backups.js';
import { connect, countRows, findPgBinDir, runPgTool, splitPassword } from './adapters/pg-tools.js';
import { openZoneStore, zoneKey, type ZoneStore } from './adapters/zone-store.js';
import { prefixedZoneEnv, zoneFromPrefixedEnv } from './zone-env.js';

const USAGE = `usage:
  node services/scheduler/dist/cli.js list-backups [--database NAME]
  node services/scheduler/dist/cli.js restore-backup --key KEY --target-url postgres://… [--yes]

Both read the backups zone from BACKUP_ZONE_* and PG_BIN_DIR from the environment.
restore-backup downloads the backup, checks its SHA-256 and runs
pg_restore --clean --if-exists into the target: objects in the backup replace the
target's. It asks for --yes unless the target database is empty.`;

const envSchema = z
  .object({ ...prefixedZoneEnv('BACKUP_'), PG_BIN_DIR: z.string().optional(), BACKUP_WORK_DIR: z.string().optional(), LOG_LEVEL: z.string().default('warn') })
  .transform((c, ctx) => {
    const zone = zoneFromPrefixedEnv(c, 'BACKUP_', 'backups');
    if (typeof zone === 'string' || zone === undefined) {
      ctx.addIssue({ code: 'custom', path: ['BACKUP_ZONE_BUCKET'], message: typeof zone === 'string' ? zone : 'set BACKUP_ZONE_BUCKET (or BACKUP_ZONE_DIR) to the backups zone' });
      return z.NEVER;
    }
    return { zone, PG_BIN_DIR: c.PG_BIN_DIR, BACKUP_WORK_DIR: c.BACKUP_WORK_DIR };
  });

/** Runs the CLI; returns the exit code. Output goes to the given writers so tests can read it. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  let args;
  try {
    args = parseArgs({ args: rest, options: { key: { type: 'string' }, 'target-url': { type: 'string' }, database: { type: 'string' }, yes: { type: 'boolean' } }, strict: true });
  } catch (e) {
    err(`${errorMessage(e)}\n${USAGE}`);
    return 64;
  }
  if (command !== 'list-backups' && command !== 'restore-backup') {
    err(USAGE);
    return command === undefined || command === 'help' || command === '--help' ? 0 : 64;
  }
  let config;
  try {
    config = parseConfig('scheduler cli', envSchema, env);
  } catch (e) {
    err(e instanceof ConfigError ? e.message : errorMessage(e));
    return 78;
  }
  const store = openZoneStore(config.zone);
  try {
    if (command === 'list-backups') return await listBackups(store, args.values.database, out);
    const key = args.values.key;
    const target = args.values['target-url'];
    if (!key || !target) {
      err(`restore-backup needs --key and --target-url\n${USAGE}`);
      return 64;
    }
    return await restoreBackup({ store, key, target, yes: args.values.yes === true, binDir: findPgBinDir(config.PG_BIN_DIR), workDir: config.BACKUP_WORK_DIR, out, err });
  } catch (e) {
    err(`failed: ${errorMessage(e)}`);
    return 1;
  } finally {
    store.close();
  }
}

async function listBackups(store: ZoneStore, database: string | undefined, out: (line: string) => void): Promise<number> {
  const root = zoneKey(store.zone, 'backups/');
  out(['time (UTC)', 'kind', 'size', 'verified', 'key'].join('\t'));
  for (const b of await listStoredBackups(store, database ? `${root}${database}/` : root)) {
    const verified = b.report ? (b.report.verified ? 'yes' : `no: ${b.report.error ?? ''}`) : 'unknown';
    out([b.at.toISOString(), b.kind, String(b.size), verified, b.key].join('\t'));
  }
  return 0;
}

async function restoreBackup(o: { store: ZoneStore; key: string; target: string; yes: boolean; binDir: string; workDir: string | undefined; out: (line: string) => void; err: (line: string) => void }): Promise<number> {
  const head = await o.store.head(o.key);
  if (!head) {
    o.err(`no backup ${o.key} in zone ${o.store.zone.name} (list them with list-backups)`);
    return 1;
  }
  const expected = head.metadata[META.sha256];
  if (!expected) {
    o.err(`${o.key} has no ${META.sha256} metadata: not a Ferry backup`);
    return 1;
  }
  const client = await connect(o.target);
  try {
    const tables = Object.keys(await countRows(client));
    if (tables.length > 0 && !o.yes) {
      o.err(`the target database has ${tables.length} tables; their contents will be replaced by the backup's. Run again with --yes to go on.`);
      return 1;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const dir = await mkdtemp(join(o.workDir ?? tmpdir(), 'ferry-restore-'));
  try {
    const file = join(dir, 'backup.dump');
    o.out(`downloading ${o.key} (${head.size} bytes)…`);
    const got = await o.store.download(o.key, file);
    if (got.sha256 !== expected) {
      o.err(`SHA-256 mismatch: stored ${expected}, downloaded ${got.sha256}; not restoring a damaged backup`);
      return 1;
    }
    o.out(`SHA-256 ${got.sha256} checked; restoring…`);
    const { url, password } = splitPassword(o.target);
    await runPgTool(o.binDir, 'pg_restore', ['--clean', '--if-exists', '--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${url}`, file], { password, timeoutMs: 24 * 3_600_000 });
    o.out(`restored ${o.key} into ${url}`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// Run when executed, not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2), process.env, (l) => process.stdout.write(`${l}\n`), (l) => process.stderr.write(`${l}\n`));
}
