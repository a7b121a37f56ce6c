import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, errorMessage, withTimeout, type Bus, type Database, type ZoneConfig } from '@ferry/common';
import { sql, type Kysely } from 'kysely';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ProbeResult } from '../domain/rules/index.js';

/**
 * Redis PING over a plain RESP exchange (AUTH first when the URL has a password), so
 * the monitor needs no Redis client. Resolves when Redis answers PONG.
 */
export function redisPing(url: string, timeoutMs: number): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  const host = u.hostname || '127.0.0.1';
  const commands: string[][] = [];
  const password = decodeURIComponent(u.password);
  const user = decodeURIComponent(u.username);
  if (password) commands.push(user ? ['AUTH', user, password] : ['AUTH', password]);
  commands.push(['PING']);
  const wire = commands.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('');
  return new Promise<void>((resolve, reject) => {
    let buffer = '';
    let settled = false;
    const socket: Socket = u.protocol === 'rediss:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`redis: no answer within ${timeoutMs} ms`)));
    socket.once(u.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => socket.write(wire));
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\r\n');
      if (lines.length - 1 < commands.length) return; // each reply here is one line
      const error = lines.slice(0, commands.length).find((l) => l.startsWith('-'));
      if (error) done(new Error(`redis: ${error.slice(1)}`));
      else if (lines[commands.length - 1] === '+PONG') done();
      else done(new Error(`redis: unexpected answer ${JSON.stringify(lines[commands.length - 1])}`));
    });
    socket.on('error', (err) => done(new Error(`redis: ${err.message}`)));
    socket.on('close', () => done(new Error('redis: connection closed before PONG')));
  });
}

/** The unauthenticated address of a bucket: path style on a custom endpoint, virtual host on AWS. */
export function bucketUrl(zone: { bucket: string; endpoint?: string | null; region?: string | null }): string {
  if (zone.endpoint) return `${zone.endpoint.replace(/\/+$/, '')}/${encodeURIComponent(zone.bucket)}`;
  return `https://${zone.bucket}.s3.${zone.region ?? 'us-east-1'}.amazonaws.com/`;
}

/** Options for {@link Probes}. */
export interface ProbesOptions {
  db: Kysely<Database>;
  bus: Bus;
  /** Probed with PING when set. */
  redisUrl?: string;
  /** Zones the monitor has settings (and credentials) for: HEAD bucket, or the folder for local zones. */
  zones?: readonly ZoneConfig[];
  /**
   * Also probe the s3 zones uploaders report in `zones` that are not configured here.
   * Without credentials this can only show the store answers (any HTTP status below
   * 500), not that Ferry's keys work; local zones there are on other hosts and are skipped.
   */
  zonesFromTable: boolean;
  timeoutMs: number;
}

/** Checks each dependency the pipeline needs, all at once, each under the time limit. */
export class Probes {
  private readonly s3 = new Map<string, S3Client>();

  constructor(private readonly options: ProbesOptions) {}

  async run(): Promise<ProbeResult[]> {
    const { timeoutMs } = this.options;
    const checks: { dependency: string; target: string; check: () => Promise<unknown> }[] = [
      { dependency: 'postgres', target: '', check: () => sql`select 1`.execute(this.options.db) },
      {
        dependency: 'nats',
        target: '',
        check: async () => {
          if (this.options.bus.nc.isClosed()) throw new Error('nats: connection closed');
          await this.options.bus.nc.rtt();
        },
      },
    ];
    if (this.options.redisUrl) {
      const url = this.options.redisUrl;
      checks.push({ dependency: 'redis', target: '', check: () => redisPing(url, timeoutMs) });
    }
    const configured = new Set<string>();
    for (const zone of this.options.zones ?? []) {
      configured.add(zone.name);
      checks.push({ dependency: 'zone', target: zone.name, check: () => this.probeZone(zone) });
    }
    if (this.options.zonesFromTable) {
      try {
        const reported = await withTimeout(this.options.db.selectFrom('zones').select(['name', 'kind', 'bucket', 'endpoint', 'region']).execute(), timeoutMs, 'zones');
        for (const z of reported) {
          if (configured.has(z.name) || z.kind !== 's3' || !z.bucket) continue;
          const url = bucketUrl({ bucket: z.bucket, endpoint: z.endpoint, region: z.region });
          checks.push({ dependency: 'zone', target: z.name, check: () => this.probeEndpoint(url) });
        }
      } catch {
        // PostgreSQL's own probe reports this; the zones from the table are probed next time.
      }
    }
    return Promise.all(
      checks.map(async ({ dependency, target, check }): Promise<ProbeResult> => {
        try {
          await withTimeout(check(), timeoutMs, target ? `${dependency} ${target}` : dependency);
          return { dependency, target, ok: true };
        } catch (err) {
          return { dependency, target, ok: false, error: errorMessage(err) };
        }
      }),
    );
  }

  close(): void {
    for (const client of this.s3.values()) client.destroy();
    this.s3.clear();
  }

  private async probeZone(zone: ZoneConfig): Promise<void> {
    if (zone.kind === 'local') {
      await access(zone.dir, constants.R_OK | constants.W_OK);
      return;
    }
    let client = this.s3.get(zone.name);
    if (!client) {
      client = createS3Client(zone);
      this.s3.set(zone.name, client);
    }
    await client.send(new HeadBucketCommand({ Bucket: zone.bucket }), { abortSignal: AbortSignal.timeout(this.options.timeoutMs) });
  }

  private async probeEndpoint(url: string): Promise<void> {
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(this.options.timeoutMs) });
    if (res.status >= 500) throw new Error(`store answered HTTP ${res.status}`);
  }
}
