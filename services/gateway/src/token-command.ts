import { ConfigError, createDatabase, databaseEnv, errorMessage, migrateToLatest, parseConfig } from '@ferry/common';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createApiToken } from './adapters/token-store.js';
import { isRole, ROLES, type Role } from './domain/tokens.js';

/** Where the command writes; process streams in the CLI, buffers in tests. */
export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The help text, printed for --help and after a usage error. */
export const USAGE = `usage: ferry-gateway create-token --role <${ROLES.join('|')}> --name <name> [--out <file>]

Creates an API token and prints it once; only its SHA-256 is stored.
  --role   what the token may do: ${ROLES.join(' < ')}
  --name   who or what the token is for, shown in listings
  --out    write the token to this file (mode 0600) instead of printing it
Reads DATABASE_URL and migrates the database first.
`;

/** Exit codes: sysexits(3) EX_USAGE for bad arguments, EX_CONFIG for bad settings. */
const EXIT = { ok: 0, failed: 1, usage: 2, config: 78 } as const;

type Parsed = { ok: true; role: Role; name: string; out?: string | undefined } | { ok: false; message: string };

function parseCommand(argv: readonly string[]): Parsed | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { role: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    return { ok: false, message: errorMessage(err) };
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [command, ...extra] = positionals;
  if (command === undefined) return { ok: false, message: 'missing command' };
  if (command !== 'create-token') return { ok: false, message: `unknown command "${command}"` };
  if (extra.length > 0) return { ok: false, message: `unexpected argument "${extra.join(' ')}"` };
  if (values.role === undefined) return { ok: false, message: '--role is required' };
  if (!isRole(values.role)) return { ok: false, message: `--role must be one of ${ROLES.join(', ')} (got "${values.role}")` };
  const name = values.name?.trim();
  if (!name) return { ok: false, message: '--name is required' };
  if (values.out !== undefined && values.out.trim() === '') return { ok: false, message: '--out needs a file name' };
  return { ok: true, role: values.role, name, out: values.out };
}

/**
 * Writes the token so that it is never readable by others, not even for a moment:
 * a private temporary file beside the target, renamed over it.
 */
async function writeSecret(file: string, secret: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    // The umask cannot widen 0600, but a stricter one could leave the owner unable to read.
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Runs `ferry-gateway <argv>` and returns the exit code. */
export async function runTokenCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const parsed = parseCommand(argv);
  if (parsed === 'help') {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  if (!parsed.ok) {
    io.stderr(`error: ${parsed.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  let url: string;
  try {
    url = parseConfig('gateway', z.object({ DATABASE_URL: databaseEnv.DATABASE_URL }), io.env).DATABASE_URL;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\n`);
    return EXIT.config;
  }
  const db = createDatabase({ url, maxConnections: 1, applicationName: 'ferry-gateway-cli' });
  try {
    await migrateToLatest(db);
    const { id, token } = await createApiToken(db, { name: parsed.name, role: parsed.role });
    if (parsed.out === undefined) {
      io.stdout(`${token}\n`);
    } else {
      const file = resolve(parsed.out);
      await writeSecret(file, token);
      io.stdout(`token ${id} (${parsed.role}, "${parsed.name}") written to ${file}\n`);
    }
    return EXIT.ok;
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined ? `: ${errorMessage(err.cause)}` : '';
    io.stderr(`error: could not create the token: ${errorMessage(err)}${cause}\n`);
    return EXIT.failed;
  } finally {
    await db.destroy();
  }
}
