import { ConfigError } from '@ferry/common/errors';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWatchFile } from './config-file.js';
import { loadConfig } from './config.js';
import { DEFAULT_IGNORE } from './domain/filters.js';
import { BUILTIN_RULES } from './domain/rules.js';

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const EXAMPLE = `
stateDir: state
heartbeatInterval: 15s
defaults:
  stable: 30s
  poll: auto
  hashConcurrency: 1
instruments:
  - name: timstof1
    folder: /mnt/timstof1/Data
    zone: default
    include: ['*.d']
    exclude: [Calibration]
    stable: 1m
    rules:
      - use: bruker-d
        mainFileTimeout: 2h
      - thermo-corrupted
      - name: agilent-d
        type: folder
        match: '*.d'
        mainFiles: [[AcqData/MSScan.bin]]
  - name: orbitrap2
    folder: ../orbitrap2
    poll: true
    pollInterval: 5s
    ignore: ['*.sld']
`;

describe('watcher YAML file', () => {
  it('reads several instruments, with defaults, relative paths and rules', () => {
    const parsed = parseWatchFile(EXAMPLE, '/etc/ferry/watcher.yaml', '/srv');
    expect(parsed.heartbeatIntervalMs).toBe(15_000);
    const [tims, orbi] = parsed.instruments;
    expect(tims).toMatchObject({
      name: 'timstof1',
      folder: '/mnt/timstof1/Data',
      zone: 'default',
      include: ['*.d'],
      exclude: ['Calibration'],
      stableMs: 60_000,
      poll: 'auto',
      hashConcurrency: 1,
      rescanMs: 300_000,
      stateFile: '/etc/ferry/state/watcher-timstof1.jsonl',
    });
    expect(tims!.rules.map((r) => r.name)).toEqual(['bruker-d', 'thermo-corrupted', 'agilent-d']);
    expect(tims!.rules[0]).toMatchObject({ type: 'folder', mainFileTimeoutMs: 7_200_000, match: '*.d' });
    expect(tims!.rules[2]).toMatchObject({ mainFiles: [['AcqData/MSScan.bin']], mainFileTimeoutMs: 1_800_000 });
    expect(orbi).toMatchObject({ folder: '/etc/orbitrap2', poll: true, pollIntervalMs: 5000, stableMs: 30_000, zone: undefined });
    expect(orbi!.ignore).toEqual([...DEFAULT_IGNORE, '*.sld']);
    expect(orbi!.rules).toEqual(BUILTIN_RULES);
  });

  it('names the file and each bad field with what it got', () => {
    const issues = issuesOf(() =>
      parseWatchFile(
        `
instruments:
  - name: bad name!
    folder: /x
    stable: soon
    poll: sometimes
    stabel: 5s
    rules: [nope, {use: sciex-wiff, timeout: never}]
  - name: ok
`,
        '/cfg/w.yaml',
      ),
    );
    const text = issues.join('\n');
    expect(text).toContain('/cfg/w.yaml: instruments[0].name: letters, digits, - and _ only (1 to 64) (got "bad name!")');
    expect(text).toContain('/cfg/w.yaml: instruments[0].stable: must be a duration such as 500ms, 5s, 10m, 2h or 7d (got "soon")');
    expect(text).toContain('instruments[0].poll: must be auto, true or false (got "sometimes")');
    expect(text).toMatch(/instruments\[0\]: Unrecognized key: "stabel"/);
    expect(text).toContain('instruments[0].rules[0]: unknown built-in rule "nope"');
    expect(text).toContain('instruments[0].rules[1].timeout: must be a duration');
    expect(text).toContain('instruments[1].folder:');
  });

  it('reports YAML syntax errors with their position, and duplicate instruments', () => {
    expect(issuesOf(() => parseWatchFile('instruments: [\n  {name: a', '/w.yaml'))[0]).toMatch(/^\/w\.yaml: .*line/);
    const dup = issuesOf(() => parseWatchFile('instruments:\n  - {name: a, folder: /x}\n  - {name: a, folder: /y}\n', '/w.yaml'));
    expect(dup.join('\n')).toContain('instruments[1].name: instrument a is already listed as instruments[0]');
    const sameFolder = issuesOf(() => parseWatchFile('instruments:\n  - {name: a, folder: /x}\n  - {name: b, folder: /x/}\n', '/w.yaml'));
    expect(sameFolder.join('\n')).toContain("folder /x is also a's");
    expect(issuesOf(() => parseWatchFile('', '/w.yaml')).join('\n')).toContain('instruments');
  });

  it('is read from WATCH_CONFIG, and the single-instrument variables are then ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-cfg-'));
    const file = join(dir, 'watcher.yaml');
    await writeFile(file, 'instruments:\n  - {name: ms1, folder: data, stable: 2s}\n');
    const c = loadConfig({ WATCH_CONFIG: file, INSTRUMENT: 'demo', WATCH_DIR: '/instrument', HEARTBEAT_INTERVAL: '5s' });
    expect(c.instruments).toHaveLength(1);
    expect(c.instruments[0]).toMatchObject({ name: 'ms1', folder: join(dir, 'data'), stableMs: 2000 });
    expect(c.HEARTBEAT_INTERVAL).toBe(5000);
    expect(c.ignoredEnv).toEqual(['INSTRUMENT', 'WATCH_DIR']);
    expect(loadConfig({ WATCH_CONFIG: file, METRICS_PORT: '0' }).METRICS_PORT).toBe(0);
    expect(issuesOf(() => loadConfig({ WATCH_CONFIG: join(dir, 'missing.yaml') }))[0]).toMatch(/^WATCH_CONFIG: cannot read .*missing\.yaml \(ENOENT\)/);
  });
});

describe('environment shorthand for one instrument', () => {
  it('keeps INSTRUMENT, WATCH_DIR and the WATCH_* variables working', () => {
    const c = loadConfig({ INSTRUMENT: 'ms1', WATCH_DIR: '/data/ms1', WATCH_STABLE: '3s', WATCH_POLL: 'true', WATCH_POLL_INTERVAL: '500ms', WATCH_STATE_FILE: '/state/w.json', WATCH_INCLUDE: '*.raw, *.d', WATCH_RULES: 'bruker-d' });
    expect(c.WATCH_CONFIG).toBeUndefined();
    expect(c.HEARTBEAT_INTERVAL).toBe(30_000);
    expect(c.instruments).toEqual([
      expect.objectContaining({ name: 'ms1', folder: '/data/ms1', stableMs: 3000, poll: true, pollIntervalMs: 500, stateFile: '/state/w.json', include: ['*.raw', '*.d'], hashConcurrency: 2 }),
    ]);
    expect(c.instruments[0]!.rules.map((r) => r.name)).toEqual(['bruker-d']);
    expect(loadConfig({ INSTRUMENT: 'ms1', WATCH_DIR: '/d' }).instruments[0]).toMatchObject({ poll: 'auto', stableMs: 10_000, rules: BUILTIN_RULES });
    expect(loadConfig({ INSTRUMENT: 'ms1', WATCH_DIR: '/d', WATCH_POLL: 'auto' }).instruments[0]!.poll).toBe('auto');
  });

  it('passes the shared settings on (metrics, tracing, NATS), and nothing of the instrument', () => {
    const shared = { METRICS_PORT: '9101', METRICS_HOST: '127.0.0.1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', NATS_URL: 'nats://core:4222', NATS_PREFIX: 'lab', FERRY_INSTANCE: 'pc1' };
    const c = loadConfig({ INSTRUMENT: 'ms1', WATCH_DIR: '/d', ...shared });
    expect(c).toMatchObject({ ...shared, METRICS_PORT: 9101 });
    expect(c).not.toHaveProperty('INSTRUMENT');
    expect(c).not.toHaveProperty('WATCH_DIR');
    expect(loadConfig({ INSTRUMENT: 'ms1', WATCH_DIR: '/d' }).METRICS_PORT).toBeUndefined();
  });

  it('names every bad variable at once', () => {
    const issues = issuesOf(() => loadConfig({ INSTRUMENT: 'bad name!', WATCH_STABLE: 'soon', WATCH_POLL: 'maybe', WATCH_RULES: 'x' }));
    const text = issues.join('\n');
    for (const name of ['INSTRUMENT', 'WATCH_DIR', 'WATCH_STABLE', 'WATCH_POLL', 'WATCH_RULES']) expect(text).toContain(name);
  });
});
