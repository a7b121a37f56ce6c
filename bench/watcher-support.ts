/** Shared pieces of the watcher benchmarks: a nats-server, a bus, and the watcher as its own process. */
import { Bus, createLogger, type EventOf } from '@ferry/common';
import { startNats } from '@ferry/testkit/servers';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const WATCHER_MAIN = fileURLToPath(new URL('../services/watcher/dist/main.js', import.meta.url));

export async function benchNats(prefix: string) {
  const nats = await startNats();
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const bus = await Bus.connect({ servers: nats.url, prefix, name: 'bench', service: 'bench', logger });
  await bus.ensureStreams();
  return { nats, bus, prefix };
}

/** Starts `services/watcher/dist/main.js` with these variables (plus PATH). */
export function spawnWatcher(env: Record<string, string>): ChildProcess {
  // WATCHER_NODE_ARGS (for example --cpu-prof) go to the watcher's node only, not the bench's.
  const nodeArgs = (process.env.WATCHER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, WATCHER_MAIN], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

export async function stopWatcher(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await done;
}

/** Peak and current resident memory of a process, from /proc (MB). */
export async function rssOf(pid: number): Promise<{ peakMB: number; nowMB: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peakMB: Math.round(kb('VmHWM') / 1024), nowMB: Math.round(kb('VmRSS') / 1024) };
}

/** CPU seconds (user + system) a process has used, from /proc. */
export async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The latest heartbeat of each watcher instance, via a plain subscription. */
export function heartbeats(bus: Bus): Map<string, EventOf<'heartbeat'>> {
  const latest = new Map<string, EventOf<'heartbeat'>>();
  bus.nc.subscribe(bus.subject('heartbeat.watcher.>'), {
    callback: (err, msg) => {
      if (err) return;
      const beat = JSON.parse(new TextDecoder().decode(msg.data)) as EventOf<'heartbeat'>;
      latest.set(beat.instance, beat);
    },
  });
  return latest;
}

export async function until<T>(what: string, check: () => T | undefined | false, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}
