import { ConfigError } from '@ferry/common';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const EXAMPLE = `
default: default
zones:
  scratch:
    endpoint: http://minio.lab:9000
    bucket: ferry-scratch
    pathStyle: true
  default:
    kind: s3
    region: eu-central-1
    bucket: lab-raw-data
    prefix: raw
    accessKeyIdEnv: LAB_S3_KEY
    secretAccessKeyEnv: LAB_S3_SECRET
    checksums: sha256
    concurrency: 3
    bandwidth: 50MB/s
  pool:
    kind: local
    dir: /mnt/backup-pool
instruments:
  ms1: default
  scope2: scratch
  seq1: pool
`;

describe('loadConfig', () => {
  let dir: string;
  const file = (name: string, text: string) => writeFile(join(dir, name), text).then(() => join(dir, name));
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.join('\n');
      throw err;
    }
    return 'no problem';
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-upl-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps the single ZONE_* zone as the shorthand when there is no zones file', () => {
    const config = loadConfig({ ZONE_BUCKET: 'ferry', ZONE_ENDPOINT: 'http://127.0.0.1:9000', UPLOAD_BANDWIDTH: '10M', UPLOAD_ZONE_CONCURRENCY: '1' });
    expect(config.zones).toHaveLength(1);
    expect(config.defaultZone).toBe('default');
    expect(config.zone).toMatchObject({ kind: 's3', bucket: 'ferry' });
    expect(config.zones[0]).toMatchObject({ checksums: 'none', bandwidth: 10_000_000, concurrency: 1 });
    expect(config.UPLOAD_ORPHAN_AGE).toBe(7 * 86_400_000);
  });

  it('reads zones, limits, credentials from named variables and the instrument map from YAML', async () => {
    const path = await file('zones.yaml', EXAMPLE);
    const config = loadConfig({ ZONES_FILE: path, LAB_S3_KEY: 'AKIALAB', LAB_S3_SECRET: 's3cr3t-value', UPLOAD_BANDWIDTH: '1M' });
    expect(config.zones.map((z) => z.zone.name)).toEqual(['scratch', 'default', 'pool']);
    expect(config.instruments).toEqual({ ms1: 'default', scope2: 'scratch', seq1: 'pool' });
    const byName = Object.fromEntries(config.zones.map((z) => [z.zone.name, z]));
    expect(byName.default).toMatchObject({ checksums: 'sha256', concurrency: 3, bandwidth: 50_000_000 });
    expect(byName.default?.zone).toMatchObject({ region: 'eu-central-1', prefix: 'raw', accessKeyId: 'AKIALAB', secretAccessKey: 's3cr3t-value' });
    expect(byName.scratch).toMatchObject({ checksums: 'none', bandwidth: 1_000_000 });
    expect(byName.scratch?.zone).toMatchObject({ forcePathStyle: true, accessKeyId: undefined });
    expect(byName.pool?.zone).toMatchObject({ kind: 'local', dir: '/mnt/backup-pool' });
    // The config is logged at start: the secret must not be in any serialisation of it.
    expect(JSON.stringify(config)).not.toContain('s3cr3t-value');
  });

  it('refuses secrets written into the file, naming the file and field', async () => {
    const path = await file('secret.yaml', 'zones:\n  default:\n    bucket: lab\n    secretAccessKey: hunter2hunter2\n');
    const text = problems({ ZONES_FILE: path });
    expect(text).toContain(`${path}: zones.default.secretAccessKey: secrets are never read from the zones file`);
    expect(text).not.toContain('hunter2');
  });

  it('names a credential variable that is not set', async () => {
    const path = await file('missing.yaml', 'zones:\n  default:\n    bucket: lab\n    accessKeyIdEnv: NOT_THERE_KEY\n    secretAccessKeyEnv: NOT_THERE_SECRET\n');
    expect(problems({ ZONES_FILE: path })).toContain(`${path}: zones.default.accessKeyIdEnv: environment variable NOT_THERE_KEY is not set`);
  });

  it('names each wrong field', async () => {
    const path = await file(
      'wrong.yaml',
      'default: main\nzones:\n  default:\n    bucket: lab\n    checksums: md5\n    bandwith: 5M\n  pool:\n    kind: local\ninstruments:\n  ms1: nowhere\n',
    );
    const text = problems({ ZONES_FILE: path });
    expect(text).toMatch(new RegExp(`${path}: zones\\.default\\.checksums: .*`));
    expect(text).toMatch(/zones\.default: .*bandwith/);
    expect(text).toMatch(/zones\.pool\.dir: /);
  });

  it('names a default zone or instrument zone that is not listed', async () => {
    const path = await file('unknown.yaml', 'default: main\nzones:\n  default:\n    bucket: lab\ninstruments:\n  ms1: nowhere\n');
    const text = problems({ ZONES_FILE: path });
    expect(text).toContain(`${path}: default: zone main is not listed under zones`);
    expect(text).toContain(`${path}: instruments.ms1: zone nowhere is not listed under zones`);
  });

  it('says when the file is missing or not YAML', async () => {
    expect(problems({ ZONES_FILE: join(dir, 'nope.yaml') })).toMatch(/ZONES_FILE: cannot read .*nope\.yaml: ENOENT/);
    const path = await file('broken.yaml', 'zones:\n  default: [unclosed\n');
    expect(problems({ ZONES_FILE: path })).toMatch(new RegExp(`${path}: not valid YAML`));
  });

  it('refuses a bad bandwidth setting', () => {
    expect(problems({ ZONE_BUCKET: 'ferry', UPLOAD_BANDWIDTH: 'fast' })).toMatch(/UPLOAD_BANDWIDTH: .*not a rate/);
  });
});
