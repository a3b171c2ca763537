import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The repository root. */
const ROOT = join(import.meta.dirname, '..', '..');
/** Where the console's screenshots go (not committed). */
export const SCREENSHOTS = join(ROOT, 'test-results');

/**
 * Makes sure the console is built (`npm test` builds it in `pretest`; a single test file run
 * directly builds it here) so the server serves it at `/`.
 */
export function ensureConsoleBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'console', 'index.html'))) return;
  execFileSync('npx', ['vite', 'build', '--config', 'console/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
}

/** Debian's Chromium, headless, with no network of its own (no updates, no sync). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * The serious and critical accessibility violations axe finds on the page, as `rule: target`
 * lines, in the light and in the dark colour scheme (contrast differs).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
    found.push(...results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) => v.nodes.map((node) => `${colorScheme}: ${v.id} (${v.impact}): ${node.target.join(' ')} — ${v.help}`)));
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return found;
}

/** Saves full-page screenshots at desktop (1280 px) and phone (390 px) width, and a dark one at 1280 px. */
export async function screenshotBothWidths(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const [label, width, height] of [['1280', 1280, 900], ['390', 390, 844]] as const) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(150); // let layout settle after the resize (charts re-measure)
    await page.screenshot({ path: join(SCREENSHOTS, `console-${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}-1280-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Signs `page` in to the console at `url` with `token` and waits for the workspaces list. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
}
