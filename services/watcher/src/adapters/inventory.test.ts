import { canonicalManifest, manifestDigest } from '@ferry/common/events';
import { testLogger } from '@ferry/testkit';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InventoryState } from '../domain/inventory-state.js';
import { Inventory } from './inventory.js';

const h = (s: string) => createHash('sha256').update(s).digest('hex');
const logger = testLogger('watcher');

async function tmpFile(name = 'inv.jsonl') {
  return join(await mkdtemp(join(tmpdir(), 'ferry-inv-')), name);
}

describe('inventory journal', () => {
  it('replays what was settled, across a restart, and matches on size and mtime only', async () => {
    const file = await tmpFile();
    const a = new Inventory({ file, instrument: 'ms1', logger });
    await a.load();
    a.settle('run1.raw', { kind: 'file', size: 10, mtimeMs: 1000.25, sha256: h('1') });
    a.settle('x.d', { kind: 'folder', size: 3, mtimeMs: 5, sha256: h('m'), members: [{ path: 'analysis.tdf', size: 3, mtimeMs: 5, sha256: h('t') }] });
    await a.close();

    const b = new Inventory({ file, instrument: 'ms1', logger });
    const report = await b.load();
    expect(report).toMatchObject({ entries: 2, skipped: 0, migrated: false });
    expect(b.state.matchesFile('run1.raw', 10, 1000.25)).toBe(true);
    expect(b.state.matchesFile('run1.raw', 10, 1000.5)).toBe(false);
    expect(b.state.matchesFolder('x.d', [{ path: 'analysis.tdf', size: 3, mtimeMs: 5 }])).toBe(true);
    expect(b.state.matchesFolder('x.d', [{ path: 'analysis.tdf', size: 3, mtimeMs: 5 }, { path: 'b', size: 1, mtimeMs: 1 }])).toBe(false);
    expect(b.state.contents.has(h('1'))).toBe(true);
    await b.close();
  });

  it('appends one line per change instead of rewriting the file', async () => {
    const file = await tmpFile();
    const inv = new Inventory({ file, instrument: 'ms1', logger });
    await inv.load();
    for (let i = 0; i < 100; i++) inv.settle(`f${i}.raw`, { kind: 'file', size: i + 1, mtimeMs: i, sha256: h(String(i)) });
    await inv.flush();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(101);
    expect(JSON.parse(lines[0]!)).toEqual({ ferry: 'watcher-inventory', v: 2, instrument: 'ms1' });
    expect(JSON.parse(lines[1]!)).toEqual({ t: 'file', p: 'f0.raw', s: 1, m: 0, h: h('0') });
    await inv.close();
  });

  it('keeps old content when a path gets new content, so the old content is never announced again', async () => {
    const file = await tmpFile();
    const inv = new Inventory({ file, instrument: 'ms1', logger, compactSlack: 0 });
    await inv.load();
    inv.settle('a.raw', { kind: 'file', size: 1, mtimeMs: 1, sha256: h('old') });
    inv.settle('a.raw', { kind: 'file', size: 2, mtimeMs: 2, sha256: h('new') });
    inv.settle('a.raw', { kind: 'file', size: 2, mtimeMs: 3, sha256: h('new') });
    // compactSlack 0: this flush compacts, and the old content must survive it.
    await inv.close();
    const text = await readFile(file, 'utf8');
    expect(text).toContain('"t":"content"');
    const again = new Inventory({ file, instrument: 'ms1', logger });
    await again.load();
    expect(again.state.contents.has(h('old'))).toBe(true);
    expect(again.state.entries.get('a.raw')?.sha256).toBe(h('new'));
    await again.close();
  });

  it('compacts a journal that grew well past what it describes', async () => {
    const file = await tmpFile();
    const inv = new Inventory({ file, instrument: 'ms1', logger, compactSlack: 50 });
    await inv.load();
    for (let i = 0; i < 200; i++) {
      inv.settle('same.raw', { kind: 'file', size: i + 1, mtimeMs: i, sha256: h('same') });
      if (i % 20 === 0) await inv.flush();
    }
    await inv.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(60);
    const again = new Inventory({ file, instrument: 'ms1', logger });
    await again.load();
    expect(again.state.matchesFile('same.raw', 200, 199)).toBe(true);
    await again.close();
  });

  it('skips a line cut short by a crash, and keeps the rest', async () => {
    const file = await tmpFile();
    const inv = new Inventory({ file, instrument: 'ms1', logger });
    await inv.load();
    inv.settle('a.raw', { kind: 'file', size: 1, mtimeMs: 1, sha256: h('a') });
    await inv.close();
    await appendFile(file, '{"t":"file","p":"b.raw","s":1,');
    const again = new Inventory({ file, instrument: 'ms1', logger });
    expect(await again.load()).toMatchObject({ entries: 1, skipped: 1 });
    again.settle('c.raw', { kind: 'file', size: 1, mtimeMs: 1, sha256: h('c') });
    await again.close();
    const third = new Inventory({ file, instrument: 'ms1', logger });
    expect(await third.load()).toMatchObject({ entries: 2 });
    await third.close();
  });

  it('remembers hashed members of a folder in progress, until the folder is settled', async () => {
    const file = await tmpFile();
    const inv = new Inventory({ file, instrument: 'ms1', logger });
    await inv.load();
    inv.rememberMember('x.d', { path: 'analysis.tdf_bin', size: 100, mtimeMs: 7, sha256: h('bin') });
    await inv.close();
    const again = new Inventory({ file, instrument: 'ms1', logger });
    await again.load();
    expect(again.state.knownMemberHash('x.d', { path: 'analysis.tdf_bin', size: 100, mtimeMs: 7 })).toBe(h('bin'));
    expect(again.state.knownMemberHash('x.d', { path: 'analysis.tdf_bin', size: 101, mtimeMs: 7 })).toBeUndefined();
    again.settle('x.d', { kind: 'folder', size: 100, mtimeMs: 7, sha256: h('m'), members: [{ path: 'analysis.tdf_bin', size: 100, mtimeMs: 7, sha256: h('bin') }] });
    expect(again.state.pendingMembers.size).toBe(0);
    expect(again.state.knownMemberHash('x.d', { path: 'analysis.tdf_bin', size: 100, mtimeMs: 7 })).toBe(h('bin'));
    await again.close();
  });

  it('converts the old single-JSON checkpoint, and refuses another instrument’s file', async () => {
    const file = await tmpFile('watcher-ms1.json');
    await writeFile(file, JSON.stringify({ version: 1, instrument: 'ms1', entries: { 'a.raw': { size: 5, mtimeMs: 9, sha256: h('a'), fileId: 'x', announcedAt: 'y' } } }));
    const inv = new Inventory({ file, instrument: 'ms1', logger });
    expect(await inv.load()).toMatchObject({ entries: 1, migrated: true });
    expect(inv.state.matchesFile('a.raw', 5, 9)).toBe(true);
    await inv.close();
    expect((await readFile(file, 'utf8')).split('\n')[0]).toContain('watcher-inventory');
    const other = new Inventory({ file, instrument: 'ms2', logger });
    await expect(other.load()).rejects.toThrow(/belongs to instrument ms1/);
  });

  it('rejects malformed lines in the pure state', () => {
    const s = new InventoryState();
    expect(() => s.apply({ t: 'file', p: 'a', s: 1, m: 1, h: 'nothex' })).toThrow();
    expect(() => s.apply({ t: 'what' })).toThrow(/unknown/);
  });
});

describe('folder manifest (common)', () => {
  const entries = [
    { path: 'analysis.tdf_bin', size: 20, sha256: h('bin') },
    { path: 'analysis.tdf', size: 10, sha256: h('tdf') },
    { path: 'Zeta/é.txt', size: 1, sha256: h('z') },
  ];

  it('is the JSON of members sorted by the UTF-8 bytes of their paths, and its address is its SHA-256', () => {
    const text = canonicalManifest(entries);
    expect(text).toBe(
      `[{"path":"Zeta/é.txt","size":1,"sha256":"${h('z')}"},{"path":"analysis.tdf","size":10,"sha256":"${h('tdf')}"},{"path":"analysis.tdf_bin","size":20,"sha256":"${h('bin')}"}]`,
    );
    expect(manifestDigest(entries)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    expect(manifestDigest([...entries].reverse())).toBe(manifestDigest(entries));
  });

  it('refuses a path listed twice', () => {
    expect(() => canonicalManifest([entries[0]!, entries[0]!])).toThrow(/twice/);
  });
});
