import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_ADMIN_TOKEN, type TestApp } from './helpers/app.js';
import { verifiedNotification } from './helpers/alerts.js';
import { ensureConsoleBuilt, launchChromium, screenshotBothWidths, seriousViolations, signIn } from './helpers/browser.js';
import { startLoopbackServer } from './helpers/loopback.js';

/*
 * Alerts in the web console, in a real browser against the real server on port 0: a channel to a
 * loopback receiver (its secret shown once and copied), a rule, a signed test send, a firing
 * alert on Health (the evaluator driven with the injected clock), then a viewer who only reads.
 */

const WS = 'shop';
const WF = 'orders';

let now = Date.now();
let test: TestApp;
let receiver: Awaited<ReturnType<typeof startLoopbackServer>>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let secret = '';
let channelId = '';
let webhookUrl = '';
/** What the receiver answers. */
let answerStatus = 200;

beforeAll(async () => {
  ensureConsoleBuilt();
  receiver = await startLoopbackServer((_request, response) => {
    response.statusCode = answerStatus;
    response.end();
  });
  // Loopback channel URLs are opened for this server only; the evaluator runs when the test says.
  test = await startTestApp({ clock: () => now, env: { HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8', HOOKFLOW_ALERTS_INTERVAL_MS: '3600000' } });
  expect((await test.api('POST', '/api/workspaces', { id: WS, name: 'Shop' })).status).toBe(201);
  const workflow = await test.api('POST', `/api/workspaces/${WS}/workflows`, { id: WF, name: 'Order processing', trigger: { type: 'webhook' } });
  expect(workflow.status).toBe(201);
  webhookUrl = workflow.body.webhookUrl; // with its key: shown at creation only
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: test.url });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await signIn(page, test.url, TEST_ADMIN_TOKEN);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await test?.stop();
  await receiver?.close();
});

describe('alerts in the console, as the admin', { timeout: 120_000 }, () => {
  it('says on Health that nothing watches the workflow yet', async () => {
    await page.goto(`${test.url}/w/${WS}/f/${WF}/health`);
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await expect.poll(() => page.getByTestId('alerts-panel').textContent()).toContain('No enabled alert rule watches this workflow');
  });

  it('creates a channel from the workspace nav; its secret is shown once, copied, and never again', async () => {
    await page.goto(`${test.url}/w/${WS}`);
    await page.getByRole('link', { name: 'Alerts', exact: true }).click();
    await page.getByRole('heading', { name: 'Alerts', level: 1 }).waitFor();
    // An address the egress guard refuses is a clear error, and nothing is created.
    await page.getByLabel('Channel name').fill('metadata');
    await page.getByLabel(/^Channel URL/).fill('http://169.254.169.254/latest');
    await page.getByRole('button', { name: 'Create channel' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('169.254.0.0/16');
    expect((await test.api('GET', `/api/workspaces/${WS}/alert-channels`)).body.items).toEqual([]);

    await page.getByLabel('Channel name').fill('ops');
    await page.getByLabel(/^Channel URL/).fill(`${receiver.url}/hook`);
    await page.getByRole('button', { name: 'Create channel' }).click();
    const shown = page.getByTestId('channel-secret');
    await shown.waitFor();
    // Focus moves to the secret so keyboard users land on it.
    await expect.poll(() => page.evaluate('document.activeElement?.classList.contains("secret-once")')).toBe(true);
    await page.getByRole('button', { name: 'Copy the signing secret of ops' }).click();
    await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toMatch(/^whsec_/);
    secret = await page.evaluate<string>('navigator.clipboard.readText()');
    expect(await shown.textContent()).toBe(secret);
    expect(await seriousViolations(page)).toEqual([]); // with the secret shown
    const listed = await test.api('GET', `/api/workspaces/${WS}/alert-channels`);
    expect(listed.body.items.map((c: { name: string }) => c.name)).toEqual(['ops']);
    channelId = listed.body.items[0].id;
    await page.getByRole('table', { name: 'Channels' }).getByText(channelId).waitFor();

    await page.reload();
    await page.getByRole('table', { name: 'Channels' }).waitFor();
    expect(await page.getByTestId('channel-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret.slice('whsec_'.length));
  });

  it('sends a test: the receiver gets one signed request and the page shows the outcome', async () => {
    const before = receiver.received.length;
    await page.getByRole('button', { name: 'Send test to ops' }).click();
    await expect.poll(() => page.getByTestId(`test-outcome-${channelId}`).textContent()).toBe('Delivered (HTTP 200)');
    const got = receiver.received.slice(before);
    expect(got.length).toBe(1);
    // Verified with the secret the page copied (standardwebhooks throws on a bad signature).
    const body = verifiedNotification(got[0]!, secret);
    expect(body.metadata.event_payload['status']).toBe('test');
    expect(() => verifiedNotification(got[0]!, `whsec_${Buffer.alloc(24).toString('base64')}`)).toThrow();

    answerStatus = 503;
    try {
      await page.getByRole('button', { name: 'Send test to ops' }).click();
      await expect.poll(() => page.getByTestId(`test-outcome-${channelId}`).textContent()).toBe('Not delivered: answered HTTP 503');
    } finally {
      answerStatus = 200;
    }
  });

  it('deletes a channel after asking', async () => {
    await page.getByLabel('Channel name').fill('spare');
    await page.getByLabel(/^Channel URL/).fill(`${receiver.url}/spare`);
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page.getByRole('button', { name: 'Delete channel spare' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete channel spare' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Delete channel spare' }).count()).toBe(0);
    expect((await test.api('GET', `/api/workspaces/${WS}/alert-channels`)).body.items.map((c: { name: string }) => c.name)).toEqual(['ops']);
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('channel-secret').count()).toBe(0);
  });

  it('creates a rule with the documented defaults, edits it, disables and enables it', async () => {
    // The defaults are filled in for the chosen kind.
    expect(await page.getByLabel('Window (minutes)').inputValue()).toBe('15');
    await page.getByLabel('Kind').selectOption('queue_lag');
    expect(await page.getByLabel(/^Oldest due run waiting/).inputValue()).toBe('60');
    await page.getByLabel('Rule name').fill('orders stuck');
    await page.getByLabel(/^Watches/).selectOption(WF);
    await page.getByRole('checkbox', { name: 'ops' }).check();
    await page.getByRole('button', { name: 'Create rule' }).click();
    const rules = page.getByRole('table', { name: 'Alert rules' });
    await rules.getByText('thresholdSeconds 60').waitFor();
    let rule = (await test.api('GET', `/api/workspaces/${WS}/alert-rules`)).body.items[0];
    expect(rule).toMatchObject({ name: 'orders stuck', kind: 'queue_lag', workflowId: WF, params: { thresholdSeconds: 60 }, channelIds: [channelId], enabled: true });

    await page.getByRole('button', { name: 'Edit rule orders stuck' }).click();
    await page.getByRole('heading', { name: 'Edit rule orders stuck' }).waitFor();
    expect(await page.evaluate('document.activeElement?.id')).toBe('rule-name');
    await page.getByLabel(/^Oldest due run waiting/).fill('1');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await rules.getByText('thresholdSeconds 1').waitFor();

    await page.getByRole('button', { name: 'Disable rule orders stuck' }).click();
    await page.getByRole('button', { name: 'Enable rule orders stuck' }).click();
    await page.getByRole('button', { name: 'Disable rule orders stuck' }).waitFor();
    rule = (await test.api('GET', `/api/workspaces/${WS}/alert-rules/${rule.id}`)).body;
    expect([rule.params, rule.enabled]).toEqual([{ thresholdSeconds: 1 }, true]);

    // A workspace-wide rule with a kind's defaults as filled in, then deleted after asking.
    await page.getByLabel('Rule name').fill('spare rule');
    await page.getByLabel('Kind').selectOption('dead_letters');
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByRole('button', { name: 'Delete rule spare rule' }).waitFor();
    const spare = (await test.api('GET', `/api/workspaces/${WS}/alert-rules`)).body.items.find((r: { name: string }) => r.name === 'spare rule');
    expect(spare).toMatchObject({ kind: 'dead_letters', workflowId: null, params: { windowMinutes: 10, threshold: 1 }, channelIds: [] });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete rule spare rule' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Delete rule spare rule' }).count()).toBe(0);
    expect((await test.api('GET', `/api/workspaces/${WS}/alert-rules`)).body.items.map((r: { name: string }) => r.name)).toEqual(['orders stuck']);

    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'alerts');
  });

  it('shows the firing alert on the workflow\'s and the workspace\'s Health, and its notification is signed', async () => {
    expect((await fetch(webhookUrl, { method: 'POST', body: '{}' })).status).toBe(200);
    now += 5_000; // no worker takes the run: it waits 5 s in the queue
    const before = receiver.received.length;
    expect((await test.app.alerts.pass()).changes).toBe(1);
    await expect.poll(() => receiver.received.length).toBe(before + 1);
    expect(verifiedNotification(receiver.received[before]!, secret).metadata.event_payload).toMatchObject({ status: 'firing', workflow_id: WF });

    await page.goto(`${test.url}/w/${WS}/f/${WF}/health`);
    const firing = page.getByRole('table', { name: 'Firing alerts' });
    await firing.waitFor();
    const row = await firing.locator('tbody tr').textContent();
    expect(row).toContain('orders stuck');
    expect(row).toContain('firing');
    expect(row).toContain('5 s');
    expect(await firing.locator('tbody td').nth(2).textContent()).not.toBe('—'); // since when
    await page.getByRole('list', { name: 'Alert history' }).getByText(/orders stuck/).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshotBothWidths(page, 'health-alerts');

    await page.goto(`${test.url}/w/${WS}`);
    await page.getByRole('table', { name: 'Firing alerts' }).getByText('orders stuck').waitFor();
  });
});

describe('alerts in the console, as a viewer', { timeout: 60_000 }, () => {
  it('lists rules and channels but shows no edit control', async () => {
    const token = (await test.api('POST', '/api/tokens', { name: 'read-only', role: 'viewer' })).body.token as string;
    const viewerContext = await browser.newContext();
    try {
      const viewer = await viewerContext.newPage();
      viewer.setDefaultTimeout(20_000);
      await signIn(viewer, test.url, token);
      await viewer.goto(`${test.url}/w/${WS}/alerts`);
      await viewer.getByRole('table', { name: 'Alert rules' }).getByText('orders stuck').waitFor();
      await viewer.getByRole('table', { name: 'Channels' }).getByText('ops').waitFor();
      expect(await viewer.getByRole('button').allTextContents()).toEqual(['Sign out']);
      expect(await viewer.locator('form').count()).toBe(0);
      expect(await seriousViolations(viewer)).toEqual([]);
    } finally {
      await viewerContext.close();
    }
  });
});
