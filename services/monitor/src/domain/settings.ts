import { parseDuration } from '@ferry/common';
import { z } from 'zod';
import { parseMatcher, type Matcher } from './labels.js';

/** A duration: milliseconds as a number, or text such as `30s`, `15m`, `4h`, `7d`. */
const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    return parseDuration(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration such as 30s, 15m, 4h or 7d` });
    return z.NEVER;
  }
});

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** Parses `200GB`, `50 GiB`, `1.5TB` or a plain number of bytes. */
export function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(value.trim());
  if (!m) throw new Error(`not a size: ${value}`);
  return Math.round(Number(m[1]) * (BYTE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1));
}

/** A size: bytes as a number, or text such as `200GB` (decimal) or `50GiB` (binary). */
const bytes = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  try {
    return parseBytes(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a size such as 200GB or 50GiB` });
    return z.NEVER;
  }
});

const matcher = z.string().transform((v, ctx): Matcher => {
  try {
    return parseMatcher(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

/** The steps a file can wait in; `done` and `failed` are terminal. */
export const WAITING_STATUSES = ['detected', 'uploading', 'stored', 'queued', 'processing'] as const;
export type WaitingStatus = (typeof WAITING_STATUSES)[number];

const DEFAULT_INHIBIT = [
  // A watcher that is down explains its instrument's stalled files and silence.
  { source: ['alertname="heartbeat_missing"', 'service="watcher"'], target: ['alertname=~"files_piling_up|file_stuck|instrument_silent"'], equal: ['instrument'] },
  // Without NATS no heartbeat arrives: one alert about NATS, not one per component.
  { source: ['alertname="dependency_unreachable"', 'dependency="nats"'], target: ['alertname="heartbeat_missing"'], equal: [] },
];

/**
 * Every alerting setting with its default. Read from `MONITOR_RULES_FILE` (YAML) and
 * `ALERT_*` variables; see README "Monitor and alerts".
 */
export const alertSettingsSchema = z.object({
  /** How often rules run. */
  evaluationInterval: duration.default(15_000),
  /** Resolved alerts and sent notifications are kept this long. */
  historyRetention: duration.default(90 * 86_400_000),
  grouping: z
    .object({
      /** Alerts with the same values of these labels form one group: one message per incident. */
      by: z.array(z.string()).default(['alertname', 'instrument']),
      /** Wait before a new group's first message, to gather the rest of the incident. */
      wait: duration.default(30_000),
      /** Wait before a message about alerts added to, or resolved in, a group already notified. */
      interval: duration.default(300_000),
      /** A group still firing is notified again after this long. */
      repeat: duration.default(4 * 3_600_000),
    })
    .prefault({}),
  heartbeat: z
    .object({
      enabled: z.boolean().default(true),
      /** A component is missing when its last heartbeat is older than this. */
      after: duration.default(15 * 60_000),
      /** Per component type (service): `{ uploader: 5m }`. */
      services: z.record(z.string(), duration).default({}),
      /** Per component: `{ "watcher/ms1-pc1": 1h }`. */
      instances: z.record(z.string(), duration).default({}),
      /** A component not seen for this long is taken as retired and no longer alerts. */
      forgetAfter: duration.default(7 * 86_400_000),
    })
    .prefault({}),
  disk: z
    .object({
      enabled: z.boolean().default(true),
      /** Alert when a volume has less free space than this. */
      floor: bytes.default(200e9),
      /** Per service (`watcher`), component (`watcher/ms1-pc1`) or volume (`watcher/ms1-pc1:/data`). */
      floors: z.record(z.string(), bytes).default({}),
      forecast: z
        .object({
          enabled: z.boolean().default(true),
          /** Alert when the volume would be full within this time at the current rate. */
          horizon: duration.default(24 * 3_600_000),
          /** Samples this recent are fitted. */
          window: duration.default(6 * 3_600_000),
          /** One sample kept per volume and this much time. */
          sampleEvery: duration.default(5 * 60_000),
          minSamples: z.number().int().min(2).default(4),
          /** The samples must span at least this long before a forecast is trusted. */
          minSpan: duration.default(30 * 60_000),
        })
        .prefault({}),
    })
    .prefault({}),
  files: z
    .object({
      enabled: z.boolean().default(true),
      /** More than this many files of one instrument in one waiting status is a pile-up. */
      maxCount: z.number().int().min(0).default(5),
      maxCountPerStatus: z.partialRecord(z.enum(WAITING_STATUSES), z.number().int().min(0)).default({}),
      /** How long a file may stay in each waiting status. */
      maxAge: z
        .object({
          detected: duration.default(30 * 60_000),
          uploading: duration.default(2 * 3_600_000),
          stored: duration.default(30 * 60_000),
          queued: duration.default(6 * 3_600_000),
          processing: duration.default(12 * 3_600_000),
        })
        .prefault({}),
    })
    .prefault({}),
  failures: z
    .object({
      enabled: z.boolean().default(true),
      /** Final upload and job failures this recent alert; older ones stay visible in the API only. */
      window: duration.default(24 * 3_600_000),
    })
    .prefault({}),
  deadLetters: z
    .object({
      enabled: z.boolean().default(true),
      window: duration.default(24 * 3_600_000),
    })
    .prefault({}),
  dependencies: z
    .object({
      enabled: z.boolean().default(true),
      /** Each probe's time limit. */
      timeout: duration.default(5000),
      /** A dependency must fail its probes this long before it alerts (one blip is not an incident). */
      for: duration.default(60_000),
      /** Probe zones that uploaders report (without credentials: is the endpoint answering?). */
      zonesFromTable: z.boolean().default(true),
    })
    .prefault({}),
  backup: z
    .object({
      enabled: z.boolean().default(true),
      /** Alert when the last successful, verified backup is older than this. */
      maxAge: duration.default(26 * 3_600_000),
    })
    .prefault({}),
  /** Instruments that must produce files: `{ ms1: { quietTime: 2h } }`. None by default. */
  instruments: z.record(z.string(), z.object({ quietTime: duration })).default({}),
  /** Alerts that mute others while they fire (Alertmanager's inhibit_rules). */
  inhibit: z
    .array(z.object({ source: z.array(matcher).min(1), target: z.array(matcher).min(1), equal: z.array(z.string()).default([]) }))
    .prefault(DEFAULT_INHIBIT),
  notify: z
    .object({
      /** First retry delay of a failed delivery; it doubles each time up to `retryMax`. */
      retryInitial: duration.default(5000),
      retryMax: duration.default(5 * 60_000),
      /** A notification not delivered after this long is marked failed. */
      maxAge: duration.default(24 * 3_600_000),
      timeout: duration.default(10_000),
    })
    .prefault({}),
});

/** Parsed alerting settings (all defaults applied). */
export type AlertSettings = z.output<typeof alertSettingsSchema>;
/** Alerting settings as written in YAML or passed by a caller (everything optional). */
export type AlertSettingsInput = z.input<typeof alertSettingsSchema>;

/** The defaults, for callers that configure nothing. */
export function defaultAlertSettings(overrides: AlertSettingsInput = {}): AlertSettings {
  return alertSettingsSchema.parse(overrides);
}
