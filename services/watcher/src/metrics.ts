import { errorMessage } from '@ferry/common/errors';
import { volumeUsage } from '@ferry/common/heartbeat';
import type { Logger } from '@ferry/common/logger';
import { counter, gauge, histogram } from '@ferry/common/metrics';

// The watcher's Prometheus metrics. Labels stay bounded: the instrument name, never a
// path or a file id. The names are the ones the Grafana dashboard queries.

/** Seconds buckets for hashing: 1 ms for a small file to 30 min for a large acquisition over a share. */
const HASH_BUCKETS = [0.001, 0.01, 0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export const watcherMetrics = {
  hashSeconds: histogram('ferry_hash_duration_seconds', 'Time to read and hash one file (a folder member counts as one), by instrument.', ['instrument'], HASH_BUCKETS),
  hashBytes: counter('ferry_hash_bytes_total', 'Bytes read and hashed, by instrument.', ['instrument']),
  detected: counter('ferry_files_detected_total', 'Acquisitions announced (file.detected published), by instrument.', ['instrument']),
};

/** What the scrape-time gauges read from one running instrument watcher. */
export interface InstrumentGauges {
  instrument: string;
  /** Seen, not yet announced. */
  pending(): number;
  /** The instrument folder, whose volume's free and total bytes are reported. */
  folder: string;
}

const sources = new Set<InstrumentGauges>();
/** Changes with the set of instruments, so a cached reading never shows one that stopped. */
let generation = 0;
let logger: Logger | undefined;

gauge('ferry_files_pending', 'Acquisitions seen and not yet announced (waiting to be complete, or to be hashed), by instrument.', ['instrument'], (g) => {
  g.reset();
  for (const s of sources) g.set({ instrument: s.instrument }, s.pending());
});

/**
 * Volume usage of every instrument, read once per scrape: both volume gauges collect
 * from the same statfs calls (prom-client collects metrics concurrently).
 */
let usage: { at: number; generation: number; values: Promise<Map<InstrumentGauges, { freeBytes: number; totalBytes: number }>> } | undefined;
function volumes(): Promise<Map<InstrumentGauges, { freeBytes: number; totalBytes: number }>> {
  if (usage && usage.generation === generation && Date.now() - usage.at < 1000) return usage.values;
  const values = (async () => {
    const out = new Map<InstrumentGauges, { freeBytes: number; totalBytes: number }>();
    await Promise.all(
      [...sources].map(async (s) => {
        try {
          out.set(s, await volumeUsage(s.folder));
        } catch (err) {
          // An unreadable share leaves its series out; the heartbeat and its alert say why.
          logger?.debug({ instrument: s.instrument, err: errorMessage(err) }, 'volume usage not read for metrics');
        }
      }),
    );
    return out;
  })();
  usage = { at: Date.now(), generation, values };
  return values;
}

for (const [name, help, field] of [
  ['ferry_volume_free_bytes', 'Bytes free (for unprivileged users) on the volume of the instrument folder.', 'freeBytes'],
  ['ferry_volume_total_bytes', 'Size in bytes of the volume of the instrument folder.', 'totalBytes'],
] as const) {
  gauge(name, help, ['instrument'], async (g) => {
    const read = await volumes();
    g.reset();
    for (const [s, u] of read) g.set({ instrument: s.instrument }, u[field]);
  });
}

/** Adds a running instrument to the scrape-time gauges; the returned function removes it. */
export function trackInstrument(source: InstrumentGauges, log: Logger): () => void {
  logger = log;
  sources.add(source);
  generation++;
  return () => {
    if (sources.delete(source)) generation++;
  };
}
