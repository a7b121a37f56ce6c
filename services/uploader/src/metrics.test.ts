import { fileIdFor, metricsRegistry } from '@ferry/common';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, sha, type Harness, type HarnessOptions } from './testing/harness.js';

/** The value of one series, 0 when it does not exist yet. */
async function value(metric: string, labels: Record<string, string>, series = metric): Promise<number> {
  const m = metricsRegistry.getSingleMetric(metric);
  if (!m) return 0;
  const { values } = await m.get();
  return values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === series && Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

/** Every uploader series of zone `default`, to compare before and after. */
async function snapshot() {
  const zone = 'default';
  return {
    stored: await value('ferry_uploads_total', { zone, outcome: 'stored' }),
    skipped: await value('ferry_uploads_total', { zone, outcome: 'skipped_existing' }),
    retried: await value('ferry_uploads_total', { zone, outcome: 'retried' }),
    failed: await value('ferry_uploads_total', { zone, outcome: 'failed' }),
    bytes: await value('ferry_upload_bytes_total', { zone }),
    timed: await value('ferry_upload_duration_seconds', { zone }, 'ferry_upload_duration_seconds_count'),
    inFlight: await value('ferry_uploads_in_flight', { zone }),
  };
}

describe('uploader metrics', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });
  const setup = async (options: HarnessOptions = {}) => {
    const h = await harness(options);
    open.push(h);
    return h;
  };

  it('counts stored bytes and uploads by outcome, times stores, and shows uploads in flight', async () => {
    let failures = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const { detect, outcome } = await setup({
      writer: (real) => ({
        zone: real.zone,
        close: () => real.close(),
        store: async (req) => {
          if (req.metadata['ferry-path'] === 'flaky.raw' && failures++ < 1) throw new Error('503 SlowDown');
          if (req.metadata['ferry-path'] === 'held.raw') await held;
          return real.store(req);
        },
      }),
    });
    const before = await snapshot();

    const content = randomBytes(6 * 1024 * 1024 + 3);
    const first = await detect('one.raw', content);
    expect((await outcome(first.fileId)).name).toBe('upload.done');
    // The same content again: nothing sent.
    const copy = await detect('copy.raw', content, { fileId: fileIdFor('ms1', 'copy.raw', sha(content)) });
    expect((await outcome(copy.fileId)).name).toBe('upload.done');
    // One failed try, then stored.
    const flaky = await detect('flaky.raw', randomBytes(100));
    expect((await outcome(flaky.fileId)).name).toBe('upload.done');

    const held1 = await detect('held.raw', randomBytes(10));
    const deadline = Date.now() + 10_000;
    while ((await value('ferry_uploads_in_flight', { zone: 'default' })) === before.inFlight && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await value('ferry_uploads_in_flight', { zone: 'default' })).toBe(before.inFlight + 1);
    release();
    expect((await outcome(held1.fileId)).name).toBe('upload.done');

    const after = await snapshot();
    expect(after.stored - before.stored).toBe(3);
    expect(after.skipped - before.skipped).toBe(1);
    expect(after.retried - before.retried).toBe(1);
    expect(after.failed - before.failed).toBe(0);
    expect(after.bytes - before.bytes).toBe(content.length + 100 + 10);
    expect(after.timed - before.timed).toBe(3);
    expect(after.inFlight).toBe(before.inFlight);
  });

  it('counts a try that fails for good as failed', async () => {
    const { detect, outcome } = await setup({ env: { ZONE_ACCESS_KEY_ID: 'NOBODY', ZONE_SECRET_ACCESS_KEY: 'wrong-secret' } });
    const before = await snapshot();
    const event = await detect('denied.raw', randomBytes(100));
    expect((await outcome(event.fileId)).name).toBe('upload.failed');
    const after = await snapshot();
    expect(after.failed - before.failed).toBe(1);
    expect(after.stored - before.stored).toBe(0);
    expect(after.bytes - before.bytes).toBe(0);
  });
});
