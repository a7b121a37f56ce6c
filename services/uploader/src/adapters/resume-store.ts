import type { Bus } from '@ferry/common';
import { Kvm, type KV } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import type { RecordedPart, UploadState } from '../domain/parts.js';

/** An upload's state with the revision it was read at, for compare-and-set claims. */
export interface StoredState {
  state: Omit<UploadState, 'parts'>;
  revision: number;
}

/**
 * Where interrupted multipart uploads are remembered. The upload's header (id, part
 * size, owner and lease) is one entry; each finished part is its own small entry, so
 * recording a part costs the same for part 3 as for part 9,000.
 */
export interface ResumeStore {
  get(zone: string, sha256: string): Promise<StoredState | undefined>;
  /** Writes the header if it is still at `revision` (absent when undefined); false when someone else won. */
  claim(zone: string, sha256: string, state: Omit<UploadState, 'parts'>, revision: number | undefined): Promise<boolean>;
  /** Refreshes the header (the lease) of an upload this uploader holds. */
  renew(zone: string, sha256: string, state: Omit<UploadState, 'parts'>): Promise<void>;
  addPart(zone: string, sha256: string, uploadId: string, part: RecordedPart): Promise<void>;
  parts(zone: string, sha256: string, uploadId: string): Promise<RecordedPart[]>;
  remove(zone: string, sha256: string): Promise<void>;
  /** Headers of every remembered upload in a zone. */
  list(zone: string): Promise<Omit<UploadState, 'parts'>[]>;
}

/** KV bucket of the resume state: `<prefix>_uploads`, or `uploads` without a prefix. */
export function resumeBucketName(busPrefix: string): string {
  return busPrefix ? `${busPrefix}_uploads` : 'uploads';
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const uploadToken = (uploadId: string) => createHash('sha256').update(uploadId).digest('hex').slice(0, 16);

/**
 * Opens (creating if needed) the resume state in NATS KV. Entries expire after `ttlMs`
 * (keep it above the sweeper's orphan age): nothing is left behind by uploads that
 * ended while the state could not be cleared.
 */
export async function openKvResumeStore(bus: Bus, options: { ttlMs: number }): Promise<ResumeStore> {
  const kv = await new Kvm(bus.nc).create(resumeBucketName(bus.prefix), { history: 1, ttl: options.ttlMs });
  return new KvResumeStore(kv);
}

class KvResumeStore implements ResumeStore {
  constructor(private readonly kv: KV) {}

  async get(zone: string, sha256: string): Promise<StoredState | undefined> {
    const entry = await this.kv.get(`${zone}.${sha256}`);
    if (!entry || entry.operation !== 'PUT') return undefined;
    return { state: JSON.parse(decoder.decode(entry.value)) as Omit<UploadState, 'parts'>, revision: entry.revision };
  }

  async claim(zone: string, sha256: string, state: Omit<UploadState, 'parts'>, revision: number | undefined): Promise<boolean> {
    const data = encoder.encode(JSON.stringify(state));
    try {
      if (revision === undefined) await this.kv.create(`${zone}.${sha256}`, data);
      else await this.kv.update(`${zone}.${sha256}`, data, revision);
      return true;
    } catch (err) {
      // A wrong-sequence answer means another uploader wrote first; anything else is a real failure.
      if (err instanceof Error && /wrong last sequence|key exists/i.test(err.message)) return false;
      throw err;
    }
  }

  async renew(zone: string, sha256: string, state: Omit<UploadState, 'parts'>): Promise<void> {
    await this.kv.put(`${zone}.${sha256}`, encoder.encode(JSON.stringify(state)));
  }

  async addPart(zone: string, sha256: string, uploadId: string, part: RecordedPart): Promise<void> {
    await this.kv.put(`${zone}.${sha256}.${uploadToken(uploadId)}.${part.n}`, encoder.encode(JSON.stringify(part)));
  }

  async parts(zone: string, sha256: string, uploadId: string): Promise<RecordedPart[]> {
    const keys: string[] = [];
    for await (const key of await this.kv.keys(`${zone}.${sha256}.${uploadToken(uploadId)}.*`)) keys.push(key);
    const parts: RecordedPart[] = [];
    for (let i = 0; i < keys.length; i += 64) {
      const entries = await Promise.all(keys.slice(i, i + 64).map((k) => this.kv.get(k)));
      for (const entry of entries) {
        if (entry?.operation === 'PUT') parts.push(JSON.parse(decoder.decode(entry.value)) as RecordedPart);
      }
    }
    return parts.sort((a, b) => a.n - b.n);
  }

  async remove(zone: string, sha256: string): Promise<void> {
    // Part entries are keyed by upload id, never reused, and expire with the bucket's TTL.
    await this.kv.delete(`${zone}.${sha256}`);
  }

  async list(zone: string): Promise<Omit<UploadState, 'parts'>[]> {
    const out: Omit<UploadState, 'parts'>[] = [];
    for await (const key of await this.kv.keys(`${zone}.*`)) {
      const sha256 = key.slice(zone.length + 1);
      const found = await this.get(zone, sha256);
      if (found) out.push(found.state);
    }
    return out;
  }
}

/** An in-memory {@link ResumeStore}, for tests and for zones where resuming makes no sense. */
export function memoryResumeStore(): ResumeStore {
  const headers = new Map<string, { state: Omit<UploadState, 'parts'>; revision: number }>();
  const partMap = new Map<string, Map<number, RecordedPart>>();
  let revision = 0;
  return {
    get: (zone, sha256) => Promise.resolve(headers.get(`${zone}.${sha256}`)),
    claim(zone, sha256, state, rev) {
      const current = headers.get(`${zone}.${sha256}`);
      if ((current?.revision ?? undefined) !== rev) return Promise.resolve(false);
      headers.set(`${zone}.${sha256}`, { state, revision: ++revision });
      return Promise.resolve(true);
    },
    renew(zone, sha256, state) {
      headers.set(`${zone}.${sha256}`, { state, revision: ++revision });
      return Promise.resolve();
    },
    addPart(zone, sha256, uploadId, part) {
      const key = `${zone}.${sha256}.${uploadId}`;
      const map = partMap.get(key) ?? new Map<number, RecordedPart>();
      map.set(part.n, part);
      partMap.set(key, map);
      return Promise.resolve();
    },
    parts: (zone, sha256, uploadId) => Promise.resolve([...(partMap.get(`${zone}.${sha256}.${uploadId}`)?.values() ?? [])].sort((a, b) => a.n - b.n)),
    remove(zone, sha256) {
      headers.delete(`${zone}.${sha256}`);
      return Promise.resolve();
    },
    list: (zone) => Promise.resolve([...headers.entries()].filter(([k]) => k.startsWith(`${zone}.`)).map(([, v]) => v.state)),
  };
}
