import { metricsRegistry } from '@ferry/common/metrics';
import { waitFor } from '@ferry/testkit';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { watcherHarness, type Harness } from './testing/harness.js';

/** The value of one series (name with `_count`/`_sum` for histograms), or undefined when absent. */
async function value(metric: string, labels: Record<string, string>, series = metric): Promise<number | undefined> {
  const m = metricsRegistry.getSingleMetric(metric);
  if (!m) return undefined;
  const { values } = await m.get();
  const found = values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === series && Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value;
}

describe('watcher metrics', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('counts detections and hashed bytes, times hashing, and reports pending files and the volume per instrument', async () => {
    h = await watcherHarness();
    const ms1 = { instrument: 'ms1' };
    const before = {
      detected: (await value('ferry_files_detected_total', ms1)) ?? 0,
      bytes: (await value('ferry_hash_bytes_total', ms1)) ?? 0,
      hashes: (await value('ferry_hash_duration_seconds', ms1, 'ferry_hash_duration_seconds_count')) ?? 0,
    };
    const w = await h.start(h.config());
    await writeFile(join(h.dir, 'a.raw'), randomBytes(5000));
    await writeFile(join(h.dir, 'b.raw'), randomBytes(7000));
    // Both are seen and not yet complete: pending.
    await waitFor('two files pending', async () => (await value('ferry_files_pending', ms1)) === 2, { timeoutMs: 5000 });
    await waitFor('two detections', () => h!.seen.length === 2, { timeoutMs: 15_000 });

    expect((await value('ferry_files_detected_total', ms1))! - before.detected).toBe(2);
    expect((await value('ferry_hash_bytes_total', ms1))! - before.bytes).toBe(12_000);
    expect((await value('ferry_hash_duration_seconds', ms1, 'ferry_hash_duration_seconds_count'))! - before.hashes).toBe(2);
    expect(await value('ferry_files_pending', ms1)).toBe(0);
    const total = (await value('ferry_volume_total_bytes', ms1))!;
    const free = (await value('ferry_volume_free_bytes', ms1))!;
    expect(total).toBeGreaterThan(0);
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(total);

    // A stopped watcher's gauges go; its counters stay, as counters do.
    await w.stop();
    expect(await value('ferry_files_pending', ms1)).toBeUndefined();
    expect(await value('ferry_volume_total_bytes', ms1)).toBeUndefined();
    expect(await value('ferry_files_detected_total', ms1)).toBeGreaterThanOrEqual(2);
  });
});
