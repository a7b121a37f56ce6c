import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';

/** A server process started by the test kit or by local mode. */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** The last lines the server printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<ServerProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort on a normal exit; the watchdog in the wrapper covers a killed parent.
  process.on('exit', () => {
    for (const server of running) {
      if (server.pid) {
        try {
          process.kill(server.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  });
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs: number, what: string, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what} exited before accepting connections on port ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not accept connections on port ${port} within ${timeoutMs} ms`);
}

/** Options for {@link startProcess}. */
export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
  cwd?: string;
  /** Signal that makes the server stop quickly (PostgreSQL: SIGINT). */
  stopSignal?: NodeJS.Signals;
}

// The wrapper stops the server when the process that started it disappears, even if
// that process was killed with SIGKILL and could run no clean-up of its own.
const WATCHDOG = `
parent=$1; sig=$2; shift 2
"$@" &
child=$!
trap 'kill -s "$sig" "$child" 2>/dev/null' TERM INT
while [ -d "/proc/$parent" ] && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill -s "$sig" "$child" 2>/dev/null
wait "$child"
`;

/**
 * Starts a server under a watchdog that ends it when this process ends; `stop()` sends
 * the server its stop signal and waits for it to exit.
 */
export function startProcess(options: StartProcessOptions): ServerProcess & { child: ChildProcess } {
  installExitHook();
  const signal = options.stopSignal ?? 'SIGTERM';
  const child = spawn('bash', ['-c', WATCHDOG, 'ferry-watchdog', String(process.pid), signal.replace(/^SIG/, ''), options.command, ...options.args], {
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C in the terminal reaches the parent, which stops the
    // servers after the services that use them, not all at once.
    detached: true,
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const server = {
    name: options.name,
    child,
    get pid() {
      return child.pid;
    },
    output: () => lines.slice(-30).join('\n'),
    stop(): Promise<void> {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        running.delete(server);
      })();
      return stopping;
    },
  };
  running.add(server);
  return server;
}
