import { ConfigError } from '@ferry/common';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const base = { DATABASE_URL: 'postgres://localhost/ferry' };
const dir = mkdtempSync(join(tmpdir(), 'monitor-config-'));
function rulesFile(text: string): string {
  const path = join(dir, `rules-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('has defaults that need no receiver', () => {
    const c = loadConfig(base);
    expect(c.receivers).toEqual([]);
    expect(c.zone).toBeUndefined();
    expect(c.alerting.grouping).toEqual({ by: ['alertname', 'instrument'], wait: 30_000, interval: 300_000, repeat: 4 * 3_600_000 });
    expect(c.alerting.heartbeat.after).toBe(15 * 60_000);
    expect(c.alerting.disk.floor).toBe(200e9);
    expect(c.alerting.backup.maxAge).toBe(26 * 3_600_000);
    expect(c.alerting.instruments).toEqual({});
    expect(c.alerting.inhibit).toHaveLength(2);
  });

  it('reads the rules file, then lets ALERT_* variables override it', () => {
    const file = rulesFile(`
grouping:
  wait: 10s
  repeat: 2h
heartbeat:
  services: { uploader: 5m }
disk:
  floor: 50GiB
instruments:
  ms1: { quietTime: 3h }
inhibit:
  - source: ['alertname="dependency_unreachable"']
    target: ['alertname="heartbeat_missing"']
`);
    const c = loadConfig({ ...base, MONITOR_RULES_FILE: file, ALERT_GROUP_WAIT: '45s', ALERT_FILES_MAX_COUNT: '9' });
    expect(c.alerting.grouping).toMatchObject({ wait: 45_000, repeat: 7_200_000 });
    expect(c.alerting.heartbeat.services).toEqual({ uploader: 300_000 });
    expect(c.alerting.disk.floor).toBe(50 * 2 ** 30);
    expect(c.alerting.files.maxCount).toBe(9);
    expect(c.alerting.instruments).toEqual({ ms1: { quietTime: 3 * 3_600_000 } });
    expect(c.alerting.inhibit).toEqual([{ source: [{ name: 'alertname', value: 'dependency_unreachable', isRegex: false, isEqual: true }], target: [{ name: 'alertname', value: 'heartbeat_missing', isRegex: false, isEqual: true }], equal: [] }]);
  });

  it('names the variable or the key that is wrong', () => {
    const bad = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
      } catch (err) {
        return err instanceof ConfigError ? err.issues.join('\n') : String(err);
      }
      return 'no error';
    };
    expect(bad({ ALERT_REPEAT_INTERVAL: 'soon' })).toMatch(/ALERT_REPEAT_INTERVAL: "soon" is not a duration/);
    expect(bad({ MONITOR_RULES_FILE: rulesFile('disk:\n  floor: lots\n') })).toMatch(/disk\.floor: "lots" is not a size/);
    expect(bad({ MONITOR_RULES_FILE: rulesFile("inhibit:\n  - source: ['oops']\n    target: ['a=\"b\"']\n") })).toMatch(/inhibit\.0\.source\.0: "oops" is not a matcher/);
    expect(bad({ MONITOR_RULES_FILE: join(dir, 'missing.yaml') })).toMatch(/MONITOR_RULES_FILE: cannot read/);
    expect(bad({ SLACK_WEBHOOK_URL: 'hooks.slack.com' })).toMatch(/SLACK_WEBHOOK_URL/);
  });

  it('keeps webhook URLs and zone credentials out of what is logged', () => {
    const c = loadConfig({ ...base, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/secret', ALERT_WEBHOOK_URL: 'http://oncall:9000/hook', ZONE_BUCKET: 'raw', ZONE_SECRET_ACCESS_KEY: 'shh' });
    expect(c.receivers.map((r) => [r.name, r.kind, r.url])).toEqual([
      ['slack', 'slack', 'https://hooks.slack.com/services/T/B/secret'],
      ['webhook', 'webhook', 'http://oncall:9000/hook'],
    ]);
    expect(c.zone).toMatchObject({ name: 'default', kind: 's3', bucket: 'raw' });
    const logged = JSON.stringify(c);
    expect(logged).not.toContain('secret');
    expect(logged).toContain('"notifiers":["slack","webhook"]');
  });
});
