import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflow, startTestApp, type TestApp } from './helpers/app.js';

const DEPLOY = join(import.meta.dirname, '..', 'deploy');
const ALERTS = join(DEPLOY, 'prometheus', 'alerts.yml');
const DASHBOARD = join(DEPLOY, 'grafana', 'hookflow.json');

/** With `HOOKFLOW_REQUIRE_PROMTOOL=1` (CI, which installs it), a missing promtool fails instead of skipping. */
const REQUIRE_PROMTOOL = process.env.HOOKFLOW_REQUIRE_PROMTOOL === '1';
const promtoolFound = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd: join(DEPLOY, 'prometheus'), encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('deploy/prometheus/alerts.yml', () => {
  if (!promtoolFound && !REQUIRE_PROMTOOL) {
    console.warn('promtool not found (Debian package `prometheus`); skipping the alert rule checks');
    it.skip('promtool check rules / test rules (promtool not installed)', () => undefined);
    return;
  }
  it('passes promtool check rules', () => {
    expect(promtoolFound, 'promtool is required (HOOKFLOW_REQUIRE_PROMTOOL=1) but not on PATH').toBe(true);
    const checked = promtool('check', 'rules', 'alerts.yml');
    expect(checked.output).toContain('SUCCESS');
    expect(checked.status).toBe(0);
  });
  it('fires each tested rule when its condition holds and not before (promtool test rules)', () => {
    expect(promtoolFound, 'promtool is required (HOOKFLOW_REQUIRE_PROMTOOL=1) but not on PATH').toBe(true);
    const tested = promtool('test', 'rules', 'alerts.test.yml');
    expect(tested.output).toContain('SUCCESS');
    expect(tested.status).toBe(0);
  });
});

describe('metric names in the alert rules and the Grafana dashboard', () => {
  let app: TestApp;
  /** Every series name /metrics can print: each TYPE line, with a histogram's _bucket/_sum/_count. */
  let exported: Set<string>;

  beforeAll(async () => {
    app = await startTestApp();
    // One call so the per-workflow metrics have children (their TYPE lines print either way).
    const { webhookUrl } = await createWorkflow(app, { name: 'probe', trigger: { type: 'webhook' } });
    expect((await fetch(webhookUrl, { method: 'POST', body: '{}' })).status).toBe(200);
    const text = await (await fetch(`${app.url}/metrics`)).text();
    exported = new Set();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name as string);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`);
    }
  });
  afterAll(async () => app.stop());

  const namesIn = (text: string): string[] => [...new Set(text.match(/hookflow_[a-z0-9_]+/g) ?? [])].sort();

  it('every metric the alert rules use exists in /metrics', () => {
    const used = namesIn(readFileSync(ALERTS, 'utf8'));
    expect(used.length).toBeGreaterThan(4);
    expect(used.filter((name) => !exported.has(name))).toStrictEqual([]);
  });

  it('every metric the dashboard queries exists in /metrics, and every panel queries something', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[]; templating: { list: { query: unknown }[] } };
    expect(dashboard.panels.length).toBeGreaterThan(8);
    for (const panel of dashboard.panels) expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
    const exprs = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...dashboard.templating.list.map((variable) => String(variable.query)),
    ];
    const used = namesIn(exprs.join('\n'));
    expect(used).toContain('hookflow_webhooks_total');
    expect(used).toContain('hookflow_ingest_duration_seconds_bucket');
    expect(used.filter((name) => !exported.has(name))).toStrictEqual([]);
  });
});
