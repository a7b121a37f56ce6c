/**
 * What the browser tests share: Debian's Chromium through playwright-core, the web
 * page built once per run, a real gateway listening on loopback, sign-in and
 * screenshots kept for people to look at.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; CI installs it. Tests skip, saying so, when it is missing. */
export const CHROMIUM = process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set FERRY_CHROMIUM)`);

const gatewayDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where screenshots are kept: services/gateway/test-artifacts/screenshots (ignored by git). */
export const SCREENSHOTS = join(gatewayDir, 'test-artifacts', 'screenshots');

/** Builds the web page into `outdir` with the production build script. */
export async function buildWeb(outdir: string): Promise<void> {
  await promisify(execFile)(process.execPath, [join(gatewayDir, 'web', 'build.mjs'), `--outdir=${outdir}`], { cwd: gatewayDir, timeout: 60_000 });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
    timeout: 30_000,
  });
}

/** A fresh browser profile at laptop size, failing fast rather than hanging. */
export async function newContext(browser: Browser, baseURL: string, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  const context = await browser.newContext({ baseURL, viewport, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

/** The base URL of a server listening on an ephemeral loopback port. */
export function baseUrlOf(address: AddressInfo | string | null): string {
  if (address === null || typeof address === 'string') throw new Error(`expected a TCP address, got ${String(address)}`);
  return `http://127.0.0.1:${address.port}`;
}

/** Signs in through the page's form and waits for the files page. */
export async function signIn(page: Page, token: string, path = '/files'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png once the page is idle. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  // Let charts measure their width and transitions end before the picture.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  // From the top, or the sticky header is drawn where the page was scrolled to.
  await page.evaluate('window.scrollTo(0, 0)');
  await page.waitForTimeout(300);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** Collects uncaught page errors and console errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    // A 401 while checking the session before sign-in is expected; the browser logs it.
    if (msg.type() === 'error' && !/401|Unauthorized/.test(msg.text())) errors.push(`console: ${msg.text()}`);
  });
  return errors;
}
