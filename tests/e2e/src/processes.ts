import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The services as an operator runs them: `node services/<name>/dist/main.js`. */
export type ServiceName = 'watcher' | 'uploader' | 'scheduler' | 'monitor' | 'gateway';

const mainOf = (service: ServiceName) => fileURLToPath(new URL(`../../../services/${service}/dist/main.js`, import.meta.url));

/** One service running in its own process, with its JSON log lines. */
export interface ServiceProcess {
  name: ServiceName;
  child: ChildProcess;
  /** Every JSON line it logged (stdout), in order. */
  lines: Record<string, unknown>[];
  /** Where its `/metrics` is served, from its log (METRICS_PORT=0 picks a free port). */
  metricsPort: number | undefined;
  /** The last lines of its output, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `deadlineMs`; resolves with the exit code (or signal). */
  stop(deadlineMs?: number): Promise<number | string | null>;
}

/** Lines a process has to log before it counts as started, and how long to wait. */
const STARTED_WITHIN_MS = 60_000;

/**
 * Starts one service as a child process with `env` (plus PATH) and waits until it logs
 * `<name> started`. Its logs must be JSON at level info or lower: the metrics port and
 * the start are read from them.
 */
export async function startService(name: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--enable-source-maps', mainOf(name)], {
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 60) tail.shift();
  };
  const proc: ServiceProcess = {
    name,
    child,
    lines,
    metricsPort: undefined,
    output: () => tail.join('\n'),
    async stop(deadlineMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode ?? child.signalCode;
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      const [code, signal] = await exited;
      clearTimeout(timer);
      return code ?? signal;
    },
  };
  let started!: () => void;
  const startedSeen = new Promise<void>((resolve) => (started = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    keep(line);
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(entry);
    if (entry.msg === 'metrics served on /metrics' && typeof entry.port === 'number') proc.metricsPort = entry.port;
    if (entry.msg === `${name} started`) started();
  });
  createInterface({ input: child.stderr }).on('line', keep);
  running.add(proc);
  child.once('exit', () => running.delete(proc));

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      startedSeen,
      once(child, 'exit').then(([code]) => {
        throw new Error(`${name} exited (code ${String(code)}) before it started:\n${proc.output()}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} did not start within ${STARTED_WITHIN_MS} ms:\n${proc.output()}`)), STARTED_WITHIN_MS);
      }),
    ]);
  } catch (err) {
    await proc.stop(2000);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return proc;
}

const running = new Set<ServiceProcess>();
// A test run that ends abnormally still takes its services with it.
process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});
