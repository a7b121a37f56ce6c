import { isolate } from '@ferry/testkit';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The built service, when `npm run build` has produced it: checks the wiring in main.ts
// (config, connections, listen, signals) that the in-process tests cannot reach.
const built = join(import.meta.dirname, '..', 'dist', 'main.js');

describe.skipIf(!existsSync(built))('the gateway process', () => {
  it('serves /health on PORT and exits 143 on SIGTERM', async () => {
    const iso = await isolate('main');
    const child = spawn(process.execPath, [built], {
      env: { PATH: process.env.PATH, ...iso.env, LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = once(child, 'exit');
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`gateway did not report listening:\n${output}`)), 15_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`gateway exited with ${code} before listening:\n${output}`));
        });
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
          const match = /"port":(\d+).*"msg":"gateway listening"/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
      });
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'ok', checks: { postgres: { ok: true }, nats: { ok: true } } });
      const api = await fetch(`http://127.0.0.1:${port}/api/v1/files`);
      expect(api.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }, output).toEqual({ code: 143, signal: null });
  });
});
