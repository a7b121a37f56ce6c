import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = (service: string) => fileURLToPath(new URL(`../../../services/${service}/dist/main.js`, import.meta.url));

// Each service started as an operator would, with a setting missing or wrong.
const cases: { service: string; env: Record<string, string>; names: string[] }[] = [
  { service: 'watcher', env: { INSTRUMENT: 'bad name!', WATCH_STABLE: 'soon' }, names: ['INSTRUMENT', 'WATCH_DIR', 'WATCH_STABLE'] },
  { service: 'uploader', env: { ZONE_KIND: 's3', UPLOAD_PART_SIZE_MB: '1' }, names: ['UPLOAD_PART_SIZE_MB'] },
  { service: 'uploader', env: { ZONE_KIND: 'local' }, names: ['ZONE_DIR'] },
  { service: 'monitor', env: { NATS_URL: 'http://wrong' }, names: ['DATABASE_URL', 'NATS_URL'] },
  { service: 'scheduler', env: { JOB_CONCURRENCY: 'many' }, names: ['JOB_CONCURRENCY'] },
  { service: 'gateway', env: { DATABASE_URL: 'mysql://x', PORT: 'eighty' }, names: ['DATABASE_URL', 'PORT'] },
];

describe('a service with bad configuration', () => {
  for (const c of cases) {
    it(`${c.service} stops at start naming ${c.names.join(', ')}, without a stack trace`, () => {
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...c.env };
      const run = spawnSync(process.execPath, [main(c.service)], { env, encoding: 'utf8', timeout: 20_000 });
      expect(run.status, run.stderr).toBe(78);
      for (const name of c.names) expect(run.stderr).toContain(name);
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr).toContain(`${c.service}: invalid configuration`);
    });
  }
});
