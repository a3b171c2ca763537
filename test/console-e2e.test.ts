import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { ensureConsoleBuilt, launchChromium, screenshotBothWidths, seriousViolations, signIn } from './helpers/browser.js';

/*
 * The web console in a real browser (Debian's Chromium through playwright-core) against the real
 * server on port 0: the "Show" list, in order, on one signed-in session; then a viewer.
 */

const SHARED_KEY = 'console-e2e-shared-key-2024';
const WS = 'shop';
const WF = 'orders';

let test: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every URL the browser requested, to check no token ever appears in one. */
const requested: string[] = [];
let viewerToken = '';

beforeAll(async () => {
  ensureConsoleBuilt();
  test = await startTestApp({ env: { HOOKFLOW_WORKER_CONCURRENCY: '2', HOOKFLOW_MAX_ATTEMPTS: '1', HOOKFLOW_STREAM_POLL_MS: '200' } });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: test.url });
  context.on('request', (request) => requested.push(request.url()));
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await test?.stop();
});

/** Types the steps document into the CodeMirror editor, replacing what it held. */
async function setSteps(target: Page, yaml: string): Promise<void> {
  const editor = target.locator('.cm-content');
  await editor.click();
  await target.keyboard.press('Control+A');
  await target.keyboard.press('Delete');
  await target.keyboard.insertText(yaml);
}

async function postWebhook(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('the console, signed in as the admin', { timeout: 150_000 }, () => {
  it('refuses a wrong token on the sign-in page and says so', async () => {
    await page.goto(test.url);
    await page.getByLabel('Token').fill('this-is-not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: 20_000 }).toContain('not accepted');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'sign-in');
  });

  it('signs in with the token; the browser keeps only an HttpOnly cookie', async () => {
    await page.getByLabel('Token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    expect(await page.evaluate('document.cookie')).toBe('');
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['hookflow_session', true, 'Strict']]);
  });

  it('creates a workspace and a workflow with the seed\'s fields, steps typed in the editor', async () => {
    await page.getByLabel('Name').fill('Shop');
    await page.locator('#ws-id').fill(WS);
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await page.getByRole('heading', { name: 'Shop' }).waitFor();
    await page.getByRole('link', { name: 'New workflow' }).click();
    await page.getByRole('heading', { name: 'New workflow' }).waitFor();

    await page.getByLabel('Name').fill('Order processing');
    await page.locator('#wf-id').fill(WF);
    await page.getByLabel(/^Shared Key/).fill(SHARED_KEY);
    await page.getByLabel(/^Header Memory/).fill('requestHeaders');
    await page.getByLabel(/^Body Memory/).fill('requestBody');
    await page.getByLabel(/^Rate limit/).fill('600');
    await page.getByLabel(/^Idempotency header/).fill('X-Delivery-Id');
    await page.locator('.cm-content').waitFor();
    // First a step the server refuses: its error shows at the step's line.
    await setSteps(page, '- id: total\n  type: script\n  code: return 1\n- id: notify\n  type: http\n  method: POST\n');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await expect.poll(() => page.getByRole('alert', { name: 'Errors in the steps' }).textContent(), { timeout: 20_000 }).toMatch(/Line 4: 1\.url/);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'workflow-form');

    // The variables are offered as completions.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.insertText('\n# req');
    await page.keyboard.press('Control+Space');
    const completions = page.locator('.cm-tooltip-autocomplete');
    await completions.waitFor();
    expect(await completions.textContent()).toContain('requestBody');
    await page.keyboard.press('Escape');

    await setSteps(page, [
      '- id: extract',
      '  type: script',
      '  code: |',
      '    const order = memory.load("requestBody");',
      '    console.log("order", order.order_id);',
      '    return order.customer.email;',
      '  output: customerEmail',
      '- id: total',
      '  type: script',
      '  code: return memory.load("requestBody").total * 2',
      '  output: doubled',
      '',
    ].join('\n'));
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('heading', { name: /Order processing/ }).waitFor();
    const created = await test.api('GET', `/api/workspaces/${WS}/workflows/${WF}`);
    expect(created.body.trigger).toMatchObject({ sharedKey: { set: true }, headerMemory: 'requestHeaders', bodyMemory: 'requestBody', rateLimit: { perMinute: 600 }, idempotencyHeader: 'x-delivery-id' });
    expect(created.body.steps.map((s: { id: string }) => s.id)).toEqual(['extract', 'total']);
  });

  it('copies the webhook URL; a webhook POSTed to it appears in the inspector without reloading, and its run turns green', async () => {
    await page.getByRole('button', { name: 'Copy production URL' }).click();
    const url = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(url).toBe(`${test.url}/api/webhook/${WS}/${WF}?key=${SHARED_KEY}`);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'workflow-overview');

    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByText('Live: new requests appear').waitFor();
    const navigations = requested.filter((u) => !u.includes('/api/')).length;
    // Sent as text: a number past 2^53 must reach the inspector with every digit.
    const answer = await postWebhook(url, '{"event":"payment_completed","order_id":"ORD-12345","total":99.99,"customer":{"email":"customer@example.com"},"big":12345678901234567890}');
    expect(answer.status).toBe(200);
    const card = page.locator('[data-kind="event"]').filter({ hasText: 'accepted' }).first();
    await card.waitFor();
    await card.locator('.badge.succeeded').waitFor();
    // No reload: the page made no new navigation request.
    expect(requested.filter((u) => !u.includes('/api/')).length).toBe(navigations);
    await card.getByText('Headers and body').click();
    await expect.poll(() => card.textContent(), { timeout: 20_000 }).toContain('12345678901234567890');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'inspector');

    // A refused call shows with its reason.
    expect((await postWebhook(url.replace(SHARED_KEY, 'wrong-key-123456'), { x: 1 })).status).toBe(401);
    const refused = page.locator('[data-kind="refused"]').first();
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/refused 401[\s\S]*Reason:.*key/i);
    expect(await refused.textContent()).not.toContain('wrong-key-123456');

    // "Send test request": it lands on the test endpoint and shows up marked as such.
    await page.getByRole('button', { name: 'Send test request' }).click();
    await page.locator('[data-kind="event"] .badge.test').first().waitFor();
    // "Run this event as a test" (mock): each step's output, compared with the event's run.
    await card.getByRole('button', { name: 'Run this event as a test' }).click();
    await card.getByRole('heading', { name: /Test run/ }).waitFor();
    expect(await card.locator('table').textContent()).toMatch(/extract.*succeeded.*customer@example\.com.*unchanged/);

    // Open the run: each step's output.
    await card.getByRole('link', { name: /Run/ }).click();
    await page.getByRole('heading', { name: /Run run_/ }).waitFor();
    expect(await page.getByTestId('output-extract').textContent()).toContain('customer@example.com');
    expect(await page.getByTestId('output-total').textContent()).toContain('199.98');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'run-detail');
  });

  it('resumes a failing run after the step is fixed', async () => {
    await page.goto(`${test.url}/w/${WS}/f/${WF}/edit`);
    await page.locator('.cm-content').waitFor();
    await setSteps(page, '- id: check\n  type: script\n  code: |\n    if (!memory.load("requestBody").ok) throw new Error("not ok yet");\n    return "fine";\n  output: verdict\n');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    expect((await postWebhook(`${test.url}/api/webhook/${WS}/${WF}?key=${SHARED_KEY}`, { ok: false })).status).toBe(200);
    const failed = page.locator('tr', { has: page.locator('.badge.failed') }).first();
    await failed.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'runs');

    // Bulk replay of the failed runs, with its progress.
    await page.getByRole('button', { name: 'Replay all failed' }).click();
    const job = page.getByRole('status', { name: 'Bulk job' });
    await job.waitFor();
    await expect.poll(() => job.textContent(), { timeout: 20_000 }).toMatch(/Bulk replay: succeeded.*1 of 1/);

    await failed.getByRole('link').click();
    await page.getByText('not ok yet').first().waitFor();
    // The fix: the step no longer throws. Then resume the failed run on the new version.
    expect((await test.api('PATCH', `/api/workspaces/${WS}/workflows/${WF}`, { steps: [{ id: 'check', type: 'script', code: 'return "fine"', output: 'verdict' }] })).status).toBe(200);
    await page.getByRole('button', { name: 'Resume on the latest version' }).click();
    await page.locator('h1 .badge.succeeded').waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('output-check').textContent()).toContain('fine');
  });

  it('shows health charts, dead letters and the alerts section; secrets by name only', async () => {
    await page.goto(`${test.url}/w/${WS}/f/${WF}/health`);
    await page.locator('.chart canvas').first().waitFor();
    await expect.poll(() => page.getByTestId('alerts-panel').textContent()).toContain('No enabled alert rule watches this workflow');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'health');

    await page.goto(`${test.url}/w/${WS}/secrets`);
    await page.getByLabel('Name').fill('SHOP_API');
    await page.getByLabel(/^Value/).fill('secret-value-never-shown');
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.getByRole('cell', { name: 'SHOP_API', exact: true }).waitFor();
    expect(await page.content()).not.toContain('secret-value-never-shown');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'secrets');

    await page.goto(`${test.url}/w/${WS}`);
    await page.getByRole('link', { name: 'Order processing' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'workspace');
    await page.goto(test.url);
    await page.getByRole('link', { name: 'Shop' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'workspaces');
  });
});

describe('the console for a viewer token', { timeout: 150_000 }, () => {
  let viewerContext: BrowserContext;
  let viewer: Page;

  beforeAll(async () => {
    const created = await test.api('POST', '/api/tokens', { name: 'read-only', role: 'viewer' });
    viewerToken = created.body.token;
    viewerContext = await browser.newContext();
    viewerContext.on('request', (request) => requested.push(request.url()));
    viewer = await viewerContext.newPage();
    viewer.setDefaultTimeout(20_000);
    await signIn(viewer, test.url, viewerToken);
  });
  afterAll(() => viewerContext?.close());

  it('shows no edit controls, and its API writes get 403', async () => {
    expect(await viewer.getByRole('button', { name: 'Create workspace' }).count()).toBe(0);
    await viewer.goto(`${test.url}/w/${WS}`);
    await viewer.getByRole('link', { name: 'Order processing' }).click();
    await viewer.getByRole('heading', { name: /Order processing/ }).waitFor();
    await viewer.getByRole('heading', { name: 'Webhook URL' }).waitFor();
    for (const name of ['Edit', 'Disable', 'Delete', 'Reveal key', 'Rotate key', 'New workflow']) {
      expect(await viewer.getByRole('button', { name }).count(), name).toBe(0);
      expect(await viewer.getByRole('link', { name }).count(), name).toBe(0);
    }
    await viewer.getByRole('link', { name: 'Requests' }).click();
    await viewer.locator('[data-kind="event"]').first().waitFor();
    expect(await viewer.getByRole('button', { name: 'Run this event as a test' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Send test request' }).count()).toBe(0);
    await viewer.getByRole('link', { name: 'Runs' }).click();
    await viewer.locator('table[aria-label="Runs"]').waitFor();
    expect(await viewer.getByRole('button', { name: /Resume|Replay/ }).count()).toBe(0);

    // The page's own fetch, with the session cookie and its CSRF token: the server refuses the role.
    const statuses = await viewer.evaluate<number[]>(`(async () => {
      const session = await (await fetch('/api/session')).json();
      const headers = { 'content-type': 'application/json', 'x-csrf-token': session.csrfToken };
      const patch = await fetch('/api/workspaces/${WS}/workflows/${WF}', { method: 'PATCH', headers, body: '{"enabled":false}' });
      const remove = await fetch('/api/workspaces/${WS}/workflows/${WF}', { method: 'DELETE', headers });
      const create = await fetch('/api/workspaces', { method: 'POST', headers, body: '{"name":"nope"}' });
      return [patch.status, remove.status, create.status];
    })()`);
    expect(statuses).toEqual([403, 403, 403]);
    expect((await test.api('GET', `/api/workspaces/${WS}/workflows/${WF}`)).body.enabled).toBe(true);
  });
});

describe('where the tokens never are', () => {
  it('in no URL the browser requested, no log line, no localStorage or sessionStorage entry', async () => {
    expect(requested.length).toBeGreaterThan(20);
    for (const token of [TEST_ADMIN_TOKEN, viewerToken]) {
      expect(requested.filter((u) => u.includes(token))).toEqual([]);
      expect(test.logs().includes(token)).toBe(false);
    }
    const storage = await page.evaluate<string>('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } })');
    expect(storage.includes(TEST_ADMIN_TOKEN)).toBe(false);
    expect(storage).toBe('{"local":{},"session":{}}');
  });
});
