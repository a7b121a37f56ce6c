/**
 * The web page in Debian's Chromium against a real gateway: PostgreSQL and NATS from
 * the test kit, rows written as the monitor writes them, the production build of the
 * page, and a browser that signs in, filters, opens a file, watches it change live,
 * silences an alert, and keeps a screenshot of every page in test-artifacts/.
 */
import { Bus, createDatabase, type Database } from '@ferry/common';
import { isolate, testLogger, waitFor } from '@ferry/testkit';
import type { Kysely } from 'kysely';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../adapters/token-store.js';
import { createGateway, type GatewayServer } from '../app.js';
import { insertFiles } from '../test-fixtures.js';
import { baseUrlOf, buildWeb, hasChromium, launchBrowser, newContext, screenshot, signIn, watchErrors } from './harness.js';
import { beat, SEEDED, seedLab } from './seed.js';

interface Lab {
  db: Kysely<Database>;
  bus: Bus;
  gateway: GatewayServer;
  server: Server;
  baseURL: string;
  webDir: string;
  operator: string;
  viewer: string;
}

describe.skipIf(!hasChromium)('the web page in Chromium', { timeout: 60_000 }, () => {
  let lab: Lab;
  let browser: Browser;

  beforeAll(async () => {
    const webDir = await mkdtemp(join(tmpdir(), 'ferry-web-'));
    const [iso] = await Promise.all([isolate('web'), buildWeb(webDir)]);
    const db = createDatabase({ url: iso.databaseUrl, maxConnections: 6 });
    await seedLab(db);
    // Operator commands (retry, back up now) go out on NATS.
    const bus = await Bus.connect({ servers: iso.natsUrl, prefix: iso.natsPrefix, name: 'gateway-web-test', service: 'gateway', logger: testLogger('gateway') });
    await bus.ensureStreams();
    const gateway = createGateway({ db, bus, zones: new Map(), logger: testLogger('gateway'), options: { webDir, eventsPollMs: 250, statsFlushMs: 500 } });
    const server = gateway.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const operator = (await createApiToken(db, { name: 'ada', role: 'operator' })).token;
    const viewer = (await createApiToken(db, { name: 'vic', role: 'viewer' })).token;
    lab = { db, bus, gateway, server, baseURL: baseUrlOf(server.address()), webDir, operator, viewer };
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (!lab) return;
    await lab.gateway.stop();
    lab.server.closeAllConnections();
    await new Promise((resolve) => lab.server.close(resolve));
    await lab.bus.close();
    await lab.db.destroy();
    await rm(lab.webDir, { recursive: true, force: true });
  });

  async function open(token?: string, viewport?: { width: number; height: number }): Promise<Page> {
    const context = await newContext(browser, lab.baseURL, viewport);
    const page = await context.newPage();
    if (token) await signIn(page, token);
    return page;
  }

  async function urlOf(page: Page, what: string, test: (url: URL) => boolean): Promise<URL> {
    return waitFor(what, () => {
      const url = new URL(page.url());
      return test(url) ? url : undefined;
    });
  }

  it('signs in with a token and out again; a wrong token is refused plainly', async () => {
    const page = await open();
    const errors = watchErrors(page);
    await page.goto('/files?status=failed');
    // Signed out: the sign-in page, remembering where to go back to.
    await page.getByLabel('API token').waitFor();
    const signInUrl = await urlOf(page, 'the sign-in page', (u) => u.pathname === '/sign-in');
    expect(signInUrl.searchParams.get('next')).toBe('/files?status=failed');
    await screenshot(page, 'sign-in');

    await page.getByLabel('API token').fill('fry_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked token' }).waitFor();

    await page.getByLabel('API token').fill(lab.operator);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    const url = await urlOf(page, 'the files page after sign-in', (u) => u.pathname === '/files');
    expect(url.searchParams.get('status')).toBe('failed');
    await page.getByText('ada').first().waitFor();

    // The cookie is httpOnly: the page cannot read it.
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'ferry_session')?.httpOnly).toBe(true);
    expect(await page.evaluate('document.cookie')).toBe('');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    const after = await page.request.get('/api/v1/session');
    expect(after.status()).toBe(401);
    expect(errors).toEqual([]);
  });

  it('finds a file by filters kept in the URL, across a reload, with a matching CSV export', async () => {
    const page = await open(lab.operator);
    const errors = watchErrors(page);
    await page.locator('tr[data-file-id]').first().waitFor();
    expect(await page.locator('tr[data-file-id]').count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    await waitFor('the second page of files', async () => (await page.locator('tr[data-file-id]').count()) > 50);
    await page.goto('/files');
    await page.locator('tr[data-file-id]').first().waitFor();
    await screenshot(page, 'files');

    await page.locator('select[name=instrument]').selectOption('ms1');
    await page.locator('select[name=status]').selectOption('processing');
    await page.locator('input[name=q]').fill('hela_0042');
    const today = new Date().toISOString().slice(0, 10);
    await page.locator('input[name=since]').fill(today);
    await page.locator('input[name=since]').dispatchEvent('change');
    const url = await urlOf(page, 'every filter in the URL', (u) => ['instrument', 'status', 'q', 'since'].every((k) => u.searchParams.has(k)));
    expect(Object.fromEntries(url.searchParams)).toEqual({ instrument: 'ms1', status: 'processing', q: 'hela_0042', since: today });

    const row = page.locator(`tr[data-file-id="${SEEDED.target.id}"]`);
    await row.waitFor();
    await waitFor('only the matching file', async () => (await page.locator('tr[data-file-id]').count()) === 1);
    expect(await row.textContent()).toContain(SEEDED.target.path);
    expect(await row.locator('.badge').textContent()).toBe('processing');
    expect(await row.textContent()).toMatch(/1\.93 GiB/);
    expect(await row.textContent()).toMatch(/\d+ min ago/);

    // A bookmark or a reload shows the same view.
    await page.reload();
    await row.waitFor();
    expect(await page.locator('tr[data-file-id]').count()).toBe(1);
    expect(await page.locator('select[name=instrument]').inputValue()).toBe('ms1');
    expect(await page.locator('select[name=status]').inputValue()).toBe('processing');
    expect(await page.locator('input[name=q]').inputValue()).toBe('hela_0042');
    expect(await page.locator('input[name=since]').inputValue()).toBe(today);
    await screenshot(page, 'files-filtered');

    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csvUrl = new URL(csvHref!, lab.baseURL);
    expect(csvUrl.pathname).toBe('/api/v1/files');
    expect(csvUrl.searchParams.get('format')).toBe('csv');
    expect(csvUrl.searchParams.get('instrument')).toBe('ms1');
    expect(csvUrl.searchParams.get('status')).toBe('processing');
    expect(csvUrl.searchParams.get('q')).toBe('hela_0042');
    const csv = await page.request.get(csvHref!);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(SEEDED.target.path);

    // A filter that matches nothing says so.
    await page.locator('input[name=q]').fill('no-such-acquisition');
    await page.getByText('No file matches these filters.').waitFor();
    expect(errors).toEqual([]);
  });

  it('opens a file and shows its timeline with the time each step took, hash, key and trace', async () => {
    const page = await open(lab.viewer);
    const errors = watchErrors(page);
    await page.goto(`/files?instrument=ms1&q=${encodeURIComponent('QC_HeLa_0042')}`);
    await page.getByRole('link', { name: SEEDED.target.path }).click();
    await urlOf(page, 'the file page', (u) => u.pathname === `/files/${SEEDED.target.id}`);
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    const steps = page.locator('.timeline .step-name');
    expect(await steps.allTextContents()).toEqual(['Detected and hashed', 'Stored', 'Job queued', 'Job started']);
    // Each step after the first says how long it took.
    expect(await page.locator('.timeline .took').count()).toBe(3);
    expect(await page.locator('.timeline .took').first().textContent()).toMatch(/^\+\d+(\.\d)? s$/);
    const detail = await (await page.request.get(`/api/v1/files/${SEEDED.target.id}`)).json();
    const facts = page.locator('dl.facts');
    expect(await facts.getByText(detail.sha256 as string, { exact: true }).count()).toBe(1);
    expect(await facts.getByText(detail.key as string, { exact: true }).count()).toBe(1);
    expect(await facts.getByText(detail.traceId as string, { exact: true }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Copy SHA-256' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Download' }).getAttribute('href')).toBe(`/api/v1/files/${SEEDED.target.id}/content`);
    await screenshot(page, 'file');

    await page.goto(`/files/${SEEDED.folder.id}`);
    await page.getByRole('heading', { name: /Folder contents/ }).waitFor();
    expect(await page.locator('.timeline .step-name').allTextContents()).toEqual(['Detected and hashed', 'Stored', 'Job queued', 'Job started', 'Job done']);
    await screenshot(page, 'file-folder');
    expect(errors).toEqual([]);

    // The browser logs the 404 itself; the page says it plainly.
    await page.goto('/files/no-such-file');
    await page.getByRole('alert').filter({ hasText: 'no file with id no-such-file' }).waitFor();
  });

  it('shows a live status change in the list and on the open file without a reload', async () => {
    const list = await open(lab.viewer);
    const errors = watchErrors(list);
    await list.goto('/files?instrument=ms1');
    const row = list.locator(`tr[data-file-id="${SEEDED.target.id}"]`);
    await row.waitFor();
    const file = await list.context().newPage();
    await file.goto(`/files/${SEEDED.target.id}`);
    await file.getByRole('heading', { name: 'Timeline' }).waitFor();
    for (const p of [list, file]) {
      await p.locator('[data-live="live"]').waitFor();
      // Gone after any reload: proves the change arrives without one.
      await p.evaluate(() => ((globalThis as Record<string, unknown>).ferryNoReload = true));
    }
    expect(await row.locator('.badge').textContent()).toBe('processing');

    // What the monitor's projection does on job.done: a timeline row, the job, the file.
    const at = new Date();
    await lab.db
      .insertInto('file_events')
      .values({ file_id: SEEDED.target.id, event_id: `live-${at.getTime()}`, event: 'job.done', status: 'done', at, instance: 'worker-2', trace_id: null, details: JSON.stringify({ pipeline: 'thermo-qc', exitCode: 0 }) })
      .execute();
    await lab.db.updateTable('jobs').set({ status: 'done', exit_code: 0, finished_at: at, updated_at: at }).where('file_id', '=', SEEDED.target.id).execute();
    await lab.db.updateTable('files').set({ status: 'done', updated_at: at }).where('id', '=', SEEDED.target.id).execute();

    await row.locator('.badge', { hasText: 'done' }).waitFor({ timeout: 15_000 });
    await file.locator('[data-testid=file-status] .badge', { hasText: 'done' }).waitFor({ timeout: 15_000 });
    await file.locator('.timeline .step-name', { hasText: 'Job done' }).waitFor();
    for (const p of [list, file]) expect(await p.evaluate(() => (globalThis as Record<string, unknown>).ferryNoReload)).toBe(true);
    await screenshot(file, 'file-live-done');
    expect(errors).toEqual([]);
  });

  it('silences an alert for a chosen duration with a comment', async () => {
    const page = await open(lab.operator);
    const errors = watchErrors(page);
    await page.getByRole('link', { name: /Alerts/ }).click();
    const alertRow = page.locator(`tr[data-alert="${SEEDED.alert.alertname}"]`);
    await alertRow.waitFor();
    expect(await page.locator('tr[data-alert]').count()).toBe(3);
    await screenshot(page, 'alerts');

    await alertRow.getByRole('button', { name: 'Silence…' }).click();
    const form = page.getByRole('form', { name: 'Silence alert' });
    await form.getByLabel('4 hours').check();
    await form.getByLabel('Comment').fill('Disk swap booked for Friday');
    await screenshot(page, 'alerts-silence-form');
    const requested = Date.now();
    await form.getByRole('button', { name: 'Silence', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `Silenced ${SEEDED.alert.alertname} until` }).waitFor();
    await page.locator('tr[data-silence-id]').first().waitFor();

    // The gateway stored it: the same answer any API client gets.
    const res = await page.request.get('/api/v1/silences');
    expect(res.status()).toBe(200);
    const { items } = (await res.json()) as { items: { matchers: { name: string; value: string }[]; comment: string; createdBy: string; endsAt: string }[] };
    expect(items).toHaveLength(1);
    const silence = items[0]!;
    expect(silence.comment).toBe('Disk swap booked for Friday');
    expect(silence.createdBy).toBe('ada');
    expect(silence.matchers).toContainEqual(expect.objectContaining({ name: 'alertname', value: SEEDED.alert.alertname }));
    expect(silence.matchers).toContainEqual(expect.objectContaining({ name: 'instance', value: SEEDED.alert.instance }));
    expect(silence.matchers.some((m) => m.name === 'severity')).toBe(false);
    const lasts = Date.parse(silence.endsAt) - requested;
    expect(lasts).toBeGreaterThan(4 * 3_600_000 - 60_000);
    expect(lasts).toBeLessThan(4 * 3_600_000 + 60_000);
    const row = await lab.db.selectFrom('silences').selectAll().executeTakeFirstOrThrow();
    expect(row.comment).toBe('Disk swap booked for Friday');
    await screenshot(page, 'alerts-silenced');

    await page.getByRole('tab', { name: 'Past' }).click();
    await page.locator('tr[data-alert="backup_missing"]').waitFor();
    expect(new URL(page.url()).searchParams.get('state')).toBe('resolved');
    expect(errors).toEqual([]);
  });

  it('hides operator actions from a viewer and lets an operator retry', async () => {
    const viewer = await open(lab.viewer);
    const errors = watchErrors(viewer);
    await viewer.goto(`/files/${SEEDED.failed.id}`);
    await viewer.getByText(SEEDED.failed.error).first().waitFor();
    await viewer.getByText('An operator can retry it.').waitFor();
    expect(await viewer.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Download' }).isDisabled()).toBe(true);
    await screenshot(viewer, 'file-failed-viewer');
    await viewer.goto('/alerts');
    await viewer.locator('tr[data-alert]').first().waitFor();
    expect(await viewer.getByRole('button', { name: 'Silence…' }).count()).toBe(0);
    await viewer.goto('/jobs');
    await viewer.getByRole('heading', { name: /Backups/ }).waitFor();
    await viewer.locator('td.error-text').first().waitFor();
    expect(await viewer.getByRole('button', { name: 'Back up now' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    expect(await viewer.locator('.role').textContent()).toBe('viewer');

    const operator = await open(lab.operator);
    await operator.goto(`/files/${SEEDED.failed.id}`);
    await operator.getByRole('button', { name: 'Retry' }).click();
    await operator.getByRole('status').filter({ hasText: 'Retry requested' }).waitFor();
    // A failed upload is retried too, by an uploader.
    const now = new Date().toISOString();
    await insertFiles(lab.db, [
      { id: 'f-upload-failed', instrument: 'ms2', path: 'acq/plate8/C01.raw', status: 'failed', failedStep: 'upload', error: 'access denied: check ZONE_ACCESS_KEY_ID', detectedAt: now },
    ]);
    await operator.goto('/files/f-upload-failed');
    await operator.getByText('Failed at upload.').waitFor();
    await operator.getByRole('button', { name: 'Retry' }).click();
    await operator.getByRole('status').filter({ hasText: 'Upload retry requested' }).waitFor();
    await operator.goto('/jobs');
    await operator.getByRole('button', { name: 'Back up now' }).click();
    await operator.getByRole('status').filter({ hasText: 'Backup requested' }).waitFor();
    await screenshot(operator, 'jobs');
    expect(errors).toEqual([]);
  });

  it('shows components, storage and requests, and keeps a screenshot of each', async () => {
    const page = await open(lab.operator);
    const errors = watchErrors(page);
    await beat(lab.db);
    await page.getByRole('link', { name: 'Instruments & components' }).click();
    await page.locator('[data-component]').first().waitFor();
    const level = (id: string) => page.locator(`[data-component="${id}"] .heartbeat`).getAttribute('data-level');
    expect(await level('watcher/ms1-pc')).toBe('ok');
    expect(await level('watcher/ms2-pc')).toBe('warn');
    expect(await level('watcher/cryo-pc')).toBe('crit');
    expect(await page.locator('[data-component="watcher/ms1-pc"] .forecast').textContent()).toMatch(/^Full in about (23|24|1) /);
    expect(await page.locator('[data-component="watcher/ms1-pc"] [role=meter]').getAttribute('aria-valuenow')).toBe('77');
    expect(await page.locator('tr[data-instrument="ms2"] td.crit-text').count()).toBe(1);
    await screenshot(page, 'components');

    await page.getByRole('link', { name: 'Storage' }).click();
    await page.getByRole('img', { name: 'Bytes stored per zone' }).waitFor();
    for (const name of ['Bytes stored per zone', 'Files stored per zone']) {
      expect(await page.getByRole('img', { name }).locator('path').count()).toBe(2);
    }
    expect(await page.getByRole('img', { name: 'Uploads per day' }).locator('rect').count()).toBeGreaterThan(20);
    await screenshot(page, 'storage');
    await page.getByRole('link', { name: '7 days' }).click();
    await urlOf(page, 'the range in the URL', (u) => u.searchParams.get('days') === '7');

    // The requests this test run made, counted once the gateway has written them.
    await lab.gateway.stats.flush();
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('heading', { name: 'By route' }).waitFor();
    await page.locator('td code', { hasText: '/api/v1/files' }).first().waitFor();
    await screenshot(page, 'requests');
    expect(errors).toEqual([]);
  });

  it('loads the first page in well under a second on loopback', async () => {
    const page = await open(lab.viewer);
    // A new tab in the same profile: signed in, nothing cached yet for this origin's assets.
    const fresh = await page.context().newPage();
    await fresh.goto('/files', { waitUntil: 'load' });
    // Evaluated as text: the browser's Performance API, not Node's, which has no "navigation".
    const nav = await fresh.evaluate<{ startTime: number; responseEnd: number; domContentLoadedEventEnd: number; loadEventEnd: number }>(
      'JSON.parse(JSON.stringify(performance.getEntriesByType("navigation")[0]))',
    );
    await fresh.locator('tr[data-file-id]').first().waitFor();
    const rowsAt = await fresh.evaluate<number>('performance.now()');
    console.log(
      `first load of /files: load event at ${Math.round(nav.loadEventEnd - nav.startTime)} ms (HTML ${Math.round(nav.responseEnd - nav.startTime)} ms, DOMContentLoaded ${Math.round(nav.domContentLoadedEventEnd - nav.startTime)} ms), files shown at ${Math.round(rowsAt)} ms`,
    );
    // Loose bound: this machine is shared; the goal is under 1 s.
    expect(nav.loadEventEnd - nav.startTime).toBeLessThan(3000);
    expect(rowsAt).toBeLessThan(5000);
  });

  it('fits a phone screen: no page scrolls sideways, wide tables scroll within themselves', async () => {
    const page = await open(lab.operator, { width: 390, height: 844 });
    const errors = watchErrors(page);
    const wide: string[] = [];
    for (const [path, ready, name] of [
      ['/files', 'tr[data-file-id]', 'files-phone'],
      [`/files/${SEEDED.failed.id}`, '.failure', 'file-phone'],
      ['/alerts', 'tr[data-alert]', 'alerts-phone'],
      ['/components', '[data-component]', 'components-phone'],
      ['/jobs', 'td.error-text', 'jobs-phone'],
      ['/storage', 'svg', 'storage-phone'],
    ] as const) {
      await page.goto(path);
      await page.locator(ready).first().waitFor();
      await screenshot(page, name);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      if (overflow > 1) {
        // The outermost elements past the right edge, for the failure message.
        const who = await page.evaluate<string[]>(
          `[...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && el.parentElement.getBoundingClientRect().right <= innerWidth + 1 && !el.closest('nav')).slice(0, 5).map((el) => el.tagName + '.' + el.className)`,
        );
        wide.push(`${path} is ${overflow} px too wide: ${who.join(' | ')}`);
      }
    }
    expect(wide).toEqual([]);
    // The navigation has a row of its own: its links are not squeezed out of sight.
    const nav = await page.locator('header.top nav').boundingBox();
    expect(nav?.width).toBeGreaterThan(300);
    await page.getByRole('link', { name: /Alerts/ }).click();
    await page.locator('tr[data-alert]').first().waitFor();
    expect(errors).toEqual([]);
  });

  it('pages through past alerts with Load more', async () => {
    // A long history: 120 resolved alerts older than the seeded ones.
    const before = await lab.db.selectFrom('alerts').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'resolved').executeTakeFirstOrThrow();
    const old = Date.now() - 30 * 86_400_000;
    await lab.db
      .insertInto('alerts')
      .values(
        Array.from({ length: 120 }, (_, i) => ({
          fingerprint: `old-${i}`,
          rule: 'stuck_files',
          labels: JSON.stringify({ alertname: 'stuck_files', severity: 'warning', instrument: `old${i}` }),
          annotations: JSON.stringify({ summary: `old pile-up ${i}` }),
          status: 'resolved' as const,
          group_key: `{alertname="stuck_files"}#old${i}`,
          starts_at: new Date(old + i * 60_000).toISOString(),
          ends_at: new Date(old + i * 60_000 + 600_000).toISOString(),
          updated_at: new Date(old + i * 60_000 + 600_000).toISOString(),
          muted_by: null,
          last_notified_at: null,
          resolved_notified_at: null,
          firing_published: true,
          resolved_published: true,
        })),
      )
      .execute();
    const total = Number(before.n) + 120;
    const page = await open(lab.viewer);
    const errors = watchErrors(page);
    await page.goto('/alerts?state=resolved');
    await page.getByText('100 alerts shown, more below').waitFor();
    expect(await page.locator('tr[data-alert]').count()).toBe(100);
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.getByText(`${total} alerts shown`, { exact: true }).waitFor();
    expect(await page.locator('tr[data-alert]').count()).toBe(total);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});
