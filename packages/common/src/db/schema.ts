import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** A file's status; see DESIGN.md "Status of a file". */
export const FILE_STATUSES = ['detected', 'uploading', 'stored', 'queued', 'processing', 'done', 'failed'] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface FilesTable {
  id: string;
  instrument: string;
  path: string;
  root: string;
  kind: 'file' | 'folder';
  size: number;
  sha256: string;
  status: FileStatus;
  failed_step: string | null;
  error: string | null;
  zone: string | null;
  key: string | null;
  mtime: Timestamp;
  detected_at: Timestamp;
  stored_at: Timestamp | null;
  updated_at: Timestamp;
  trace_id: string | null;
  manifest: JSONColumnType<{ path: string; size: number; sha256: string }[] | null>;
}

export interface FileEventsTable {
  id: Generated<number>;
  file_id: string;
  /** The NATS message id of the event; unique, so replays add nothing. */
  event_id: string;
  event: string;
  status: FileStatus | null;
  at: Timestamp;
  instance: string | null;
  trace_id: string | null;
  details: JSONColumnType<Record<string, unknown>>;
}

export interface JobsTable {
  id: string;
  file_id: string;
  pipeline: string;
  status: 'queued' | 'processing' | 'done' | 'failed';
  attempt: number;
  exit_code: number | null;
  error: string | null;
  queued_at: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Timestamp;
}

export interface ComponentsTable {
  service: string;
  instance: string;
  version: string;
  started_at: Timestamp;
  last_seen_at: Timestamp;
  interval_ms: number;
  disks: JSONColumnType<{ path: string; freeBytes: number; totalBytes: number }[]>;
  details: JSONColumnType<Record<string, string | number | boolean | null>>;
}

export interface DeadLettersTable {
  id: string;
  stream: string;
  consumer: string;
  subject: string;
  reason: string;
  error: string;
  data: string;
  at: Timestamp;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  role: 'viewer' | 'operator' | 'admin';
  token_hash: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface ZonesTable {
  name: string;
  kind: 's3' | 'local';
  bucket: string | null;
  endpoint: string | null;
  region: string | null;
  prefix: string;
  dir: string | null;
  reported_by: string;
  updated_at: Timestamp;
}

export interface BackupsTable {
  id: string;
  database: string;
  zone: string;
  key: string;
  size: number;
  sha256: string;
  verified: boolean;
  error: string | null;
  tables: JSONColumnType<Record<string, { source: number; restored: number }>>;
  started_at: Timestamp;
  finished_at: Timestamp;
}

export interface DiskSamplesTable {
  service: string;
  instance: string;
  path: string;
  bucket_at: Timestamp;
  at: Timestamp;
  free_bytes: number;
  total_bytes: number;
}

export interface AlertsTable {
  id: Generated<number>;
  fingerprint: string;
  /** The rule's name, also the `alertname` label. */
  rule: string;
  labels: JSONColumnType<Record<string, string>>;
  annotations: JSONColumnType<Record<string, string>>;
  status: 'firing' | 'resolved';
  group_key: string;
  starts_at: Timestamp;
  ends_at: Timestamp | null;
  updated_at: Timestamp;
  /** `silence:<id>` or `inhibited:<fingerprint>` while it is left out of notifications. */
  muted_by: string | null;
  last_notified_at: Timestamp | null;
  resolved_notified_at: Timestamp | null;
  firing_published: ColumnType<boolean, boolean | undefined, boolean>;
  resolved_published: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface AlertGroupsTable {
  group_key: string;
  labels: JSONColumnType<Record<string, string>>;
  created_at: Timestamp;
  last_notified_at: Timestamp | null;
  notified_fingerprints: JSONColumnType<string[]>;
}

/** One matcher of a silence, as in Alertmanager: `name`, `value`, regex or not, equal or not. */
export interface SilenceMatcherRow {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface SilencesTable {
  id: string;
  matchers: JSONColumnType<SilenceMatcherRow[]>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_by: string;
  comment: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NotificationsTable {
  id: Generated<number>;
  group_key: string;
  status: 'firing' | 'resolved';
  /** `first`, `update`, `repeat` or `resolved`. */
  reason: string;
  alerts: JSONColumnType<{ fingerprint: string; status: 'firing' | 'resolved'; labels: Record<string, string> }[]>;
  created_at: Timestamp;
}

export interface NotificationDeliveriesTable {
  id: Generated<number>;
  notification_id: number;
  /** `slack`, `teams` or `webhook`; the URL comes from the monitor's config, never stored. */
  receiver: string;
  payload: JSONColumnType<object>;
  status: 'pending' | 'sent' | 'failed';
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: Timestamp | null;
}

export interface MonitorStateTable {
  key: string;
  value: JSONColumnType<Record<string, unknown>>;
  updated_at: Timestamp;
}

/** One end-to-end canary check, from `canary.result`. */
export interface CanaryResultsTable {
  id: string;
  instrument: string;
  instance: string;
  result: 'ok' | 'late' | 'failed';
  latency_ms: number;
  limit_ms: number;
  interval_ms: number;
  sha256: string;
  detail: string | null;
  checked_at: Timestamp;
}

/** A web page sign-in; `id` is the SHA-256 of the secret in the `ferry_session` cookie. */
export interface SessionsTable {
  id: string;
  token_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** Gateway answers per hour, route pattern, method, status and client (token name or address). */
export interface RequestStatsTable {
  hour: Timestamp;
  route: string;
  method: string;
  status: number;
  client: string;
  count: number;
  total_ms: number;
}

/** The PostgreSQL schema as Kysely sees it. The monitor owns the state tables. */
export interface Database {
  files: FilesTable;
  file_events: FileEventsTable;
  jobs: JobsTable;
  components: ComponentsTable;
  dead_letters: DeadLettersTable;
  api_tokens: ApiTokensTable;
  zones: ZonesTable;
  backups: BackupsTable;
  disk_samples: DiskSamplesTable;
  alerts: AlertsTable;
  alert_groups: AlertGroupsTable;
  silences: SilencesTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
  monitor_state: MonitorStateTable;
  sessions: SessionsTable;
  request_stats: RequestStatsTable;
  canary_results: CanaryResultsTable;
}
