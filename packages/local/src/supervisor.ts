import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { formatLogLine } from './log-format.js';

/** One service process run by local mode. */
export interface ServiceSpec {
  name: string;
  script: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Runs services as child processes, prints their logs in short form, keeps the full
 * JSON logs in files, restarts a service that dies (with a growing delay), and stops
 * them all with SIGTERM on request.
 */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, WriteStream>();
  private stopping = false;

  constructor(
    private readonly logDir: string,
    private readonly print: (line: string) => void,
  ) {}

  start(spec: ServiceSpec, restarts = 0): void {
    if (this.stopping) return;
    let log = this.logs.get(spec.name);
    if (!log) {
      log = createWriteStream(`${this.logDir}/${spec.name}.log`, { flags: 'a' });
      this.logs.set(spec.name, log);
    }
    const child = spawn(process.execPath, ['--enable-source-maps', spec.script], { env: spec.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(spec.name, child);
    const started = Date.now();
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        log.write(`${line}\n`);
        this.print(formatLogLine(spec.name, line));
      });
    }
    child.once('exit', (code, signal) => {
      this.children.delete(spec.name);
      if (this.stopping) return;
      // A service that ran a while before dying starts again at once; one that keeps dying waits longer each time.
      const again = Date.now() - started > 60_000 ? 0 : restarts + 1;
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(again, 5));
      this.print(`${spec.name} exited (${signal ?? `code ${code}`}); restarting in ${Math.round(delay / 1000)} s`);
      setTimeout(() => this.start(spec, again), delay).unref();
    });
  }

  /** SIGTERM to every service; SIGKILL to any still running after `deadlineMs`. */
  async stop(deadlineMs = 30_000): Promise<void> {
    this.stopping = true;
    const waits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), deadlineMs).unref();
        }),
    );
    await Promise.all(waits);
    await Promise.all([...this.logs.values()].map((l) => new Promise<void>((resolve) => l.end(() => resolve()))));
  }
}
