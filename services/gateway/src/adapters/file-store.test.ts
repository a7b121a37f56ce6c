import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT, type FileListQuery } from '../domain/list-query.js';
import { decodeCursor } from '../domain/cursor.js';
import { insertFiles, startGateway, type Gateway } from '../test-fixtures.js';
import { gramsOf } from '../domain/path-search.js';
import { FileStore, holdsGrams } from './file-store.js';

describe('FileStore search by path text', () => {
  let gw: Gateway;
  beforeEach(async () => {
    gw = await startGateway();
    // 300 files, the newest last; every path shares "runs", "sample" and "raw".
    await insertFiles(
      gw.db,
      Array.from({ length: 300 }, (_, i) => ({
        id: `f${String(i).padStart(3, '0')}`,
        instrument: i % 2 === 0 ? 'ms1' : 'ms2',
        path: `runs/proj-${i % 10}/sample_${i}.${i % 3 === 0 ? 'wiff' : 'raw'}`,
        detectedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
      })),
    );
    // Paths with letters outside ASCII and with characters that array literals quote.
    await insertFiles(gw.db, [
      { id: 'u1', instrument: 'ms1', path: 'runs/Ünïcode/Straße_probe.raw', detectedAt: '2024-12-01T00:00:00Z' },
      { id: 'u2', instrument: 'ms2', path: 'runs/odd"{dir},\\x/file 1.raw', detectedAt: '2024-12-02T00:00:00Z' },
    ]);
    await sql`analyze files`.execute(gw.db);
  });
  afterEach(async () => {
    await gw.close();
  });

  /** What the answer must be: the plain query, newest first. */
  async function expected(q: string, extra: Partial<FileListQuery> = {}): Promise<string[]> {
    let select = gw.db.selectFrom('files').select('id').where(sql<boolean>`position(lower(${q}) in lower(path)) > 0`);
    if (extra.instrument) select = select.where('instrument', '=', extra.instrument);
    return (await select.orderBy('detected_at', 'desc').orderBy('id', 'desc').execute()).map((r) => r.id);
  }

  /** Every page of a search with `store`, concatenated. */
  async function all(store: FileStore, q: string, extra: Partial<FileListQuery> = {}, limit = 7): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.list({ q, limit, ...extra, ...(cursor ? { cursor: decodeCursor(cursor) } : {}) });
      ids.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    return ids;
  }

  it.each([
    ['common text, found among the newest', 'sample'],
    ['rare text of common trigrams: only its rare word is looked up', 'sample_123.raw'],
    ['a number', '12'],
    ['a project and a separator', 'proj-7/'],
    ['an extension', '.wiff'],
    ['nothing', 'zzzz'],
    ['two common words, rare together', 'proj-3/sample_1'],
    ['LIKE wildcards, literally', '1_'],
    ['case-insensitively', 'SAMPLE_29'],
    ['letters outside ASCII', 'ünïcode/straße'],
    ['letters outside ASCII, in capitals', 'ÜNÏCODE/'],
    ['quotes, braces, commas and backslashes', 'odd"{dir},\\x/'],
    ['a space', 'file 1'],
  ])('finds exactly what a full scan finds: %s', async (_what, q) => {
    // A window of 20 forces the index stage for all but the commonest texts.
    for (const store of [new FileStore(gw.db, { searchWindow: 20, sampleMinRows: 0 }), new FileStore(gw.db)]) {
      expect(await all(store, q)).toEqual(await expected(q));
      expect(await all(store, q, { instrument: 'ms2' })).toEqual(await expected(q, { instrument: 'ms2' }));
    }
  });

  it('writes the path-gram condition so that the index serves it', async () => {
    const plan = await gw.db.transaction().execute(async (trx) => {
      await sql`set local enable_seqscan = off`.execute(trx);
      const query = trx.selectFrom('files').select('id').where(holdsGrams(gramsOf('Proj-7/')));
      return (await query.explain()).map((row) => Object.values(row).join(' ')).join('\n');
    });
    expect(plan).toContain('files_path_grams_idx');
    const ids = await gw.db.selectFrom('files').select('id').where(holdsGrams(gramsOf('odd"{dir},\\x/File 1'))).execute();
    expect(ids.map((r) => r.id)).toEqual(['u2']);
  });

  it('answers a default page too', async () => {
    const store = new FileStore(gw.db, { searchWindow: 20, sampleMinRows: 0 });
    const page = await store.list({ q: 'sample_1', limit: DEFAULT_LIMIT });
    expect(page.items.map((i) => i.id)).toEqual((await expected('sample_1')).slice(0, DEFAULT_LIMIT));
    expect(page.nextCursor).not.toBeNull();
  });
});
