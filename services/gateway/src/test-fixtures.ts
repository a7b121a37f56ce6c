/**
 * Shared setup for the gateway's integration tests (not part of the build): a gateway
 * app on the test's own database, tokens, and rows written the way the monitor would.
 */
import { Bus, createDatabase, type Database, type EventOf, type FileStatus, type Logger, type ZoneReader } from '@ferry/common';
import { isolate, testLogger, type Isolated } from '@ferry/testkit';
import type { Express } from 'express';
import { sql, type Kysely } from 'kysely';
import { createHash } from 'node:crypto';
import { createApiToken } from './adapters/token-store.js';
import { createGateway, type GatewayOptions, type GatewayServer } from './app.js';
import type { Role } from './domain/tokens.js';

export interface Gateway {
  iso: Isolated;
  db: Kysely<Database>;
  app: Express;
  gateway: GatewayServer;
  /** A fresh token with `role`, as `Authorization` header value. */
  bearer(role?: Role): Promise<string>;
  close(): Promise<void>;
}

/** A gateway app on an isolated database (the given one, or a new one); pass zones or a bus to exercise content and health. */
export async function startGateway(options: { iso?: Isolated; zones?: ZoneReader[]; bus?: Bus; options?: Partial<GatewayOptions>; logger?: Logger } = {}): Promise<Gateway> {
  const iso = options.iso ?? (await isolate('gw'));
  const db = createDatabase({ url: iso.databaseUrl, maxConnections: 4 });
  const zones = new Map((options.zones ?? []).map((z) => [z.zone.name, z]));
  // No web page unless a test gives one: the real build may or may not exist.
  const gateway = createGateway({ db, bus: options.bus, zones, logger: options.logger ?? testLogger('gateway'), options: { webDir: '/nonexistent/ferry-web', ...options.options } });
  return {
    iso,
    db,
    app: gateway.app,
    gateway,
    async bearer(role: Role = 'viewer') {
      const { token } = await createApiToken(db, { name: `test-${role}`, role });
      return `Bearer ${token}`;
    },
    async close() {
      await gateway.stop();
      await db.destroy();
    },
  };
}

/** A 64-hex SHA-256 derived from `seed`, for rows that need one. */
export function fakeSha(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** The columns a test usually sets; the rest get plausible defaults. */
export interface FileSeed {
  id: string;
  instrument?: string;
  path?: string;
  kind?: 'file' | 'folder';
  size?: number;
  sha256?: string;
  status?: FileStatus;
  failedStep?: string | null;
  error?: string | null;
  zone?: string | null;
  key?: string | null;
  /** ISO text, so tests can use microseconds that a Date would drop. */
  detectedAt?: string;
  storedAt?: string | null;
  traceId?: string | null;
}

/** Inserts `files` rows directly, as the monitor's projection would. */
export async function insertFiles(db: Kysely<Database>, seeds: FileSeed[]): Promise<void> {
  if (seeds.length === 0) return;
  await db
    .insertInto('files')
    .values(
      seeds.map((s) => {
        const detectedAt = s.detectedAt ?? '2025-01-01T00:00:00.000Z';
        return {
          id: s.id,
          instrument: s.instrument ?? 'ms1',
          path: s.path ?? `runs/${s.id}.raw`,
          root: '/data/ms1',
          kind: s.kind ?? 'file',
          size: s.size ?? 1234,
          sha256: s.sha256 ?? fakeSha(s.id),
          status: s.status ?? 'detected',
          failed_step: s.failedStep ?? null,
          error: s.error ?? null,
          zone: s.zone ?? null,
          key: s.key ?? null,
          mtime: detectedAt,
          detected_at: detectedAt,
          stored_at: s.storedAt ?? null,
          updated_at: s.storedAt ?? detectedAt,
          trace_id: s.traceId ?? null,
          // SQL NULL, not the JSON value null: a plain file has no manifest.
          manifest: sql<string>`null`,
        };
      }),
    )
    .execute();
}

/** A bus on the test's own NATS prefix, with its streams, and the commands published on it. */
export async function commandBus(iso: Isolated): Promise<{ bus: Bus; commands: EventOf<'command'>[]; close(): Promise<void> }> {
  const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'gateway-test', service: 'gateway', logger: testLogger('gateway') });
  await bus.ensureStreams();
  const commands: EventOf<'command'>[] = [];
  const sub = bus.subscribeCore('command', (event) => commands.push(event));
  return {
    bus,
    commands,
    async close() {
      sub.stop();
      await bus.close();
    },
  };
}
