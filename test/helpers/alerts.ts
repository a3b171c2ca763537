import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import type { TestApp } from './app.js';
import type { Received } from './loopback.js';

/** A notification a loopback receiver got, its signature checked with the `standardwebhooks` package. */
export function verifiedNotification(received: Received, secret: string): { text: string; metadata: { event_type: string; event_payload: Record<string, unknown> }; blocks: unknown[] } {
  const headers = Object.fromEntries(Object.entries(received.headers).map(([name, value]) => [name, String(value)]));
  // Throws when the signature, id or timestamp does not check out.
  return new Webhook(secret).verify(received.body, headers) as never;
}

/** Creates a channel to `url`; returns its id and the secret shown once. */
export async function createChannel(app: TestApp, workspaceId: string, url: string): Promise<{ id: string; secret: string }> {
  const answer = await app.api('POST', `/api/workspaces/${workspaceId}/alert-channels`, { name: 'ops', url });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  expect(answer.body.secret).toMatch(/^whsec_[A-Za-z0-9+/=]{32}$/);
  return { id: answer.body.id, secret: answer.body.secret };
}

/** Creates a rule; returns its id. */
export async function createRule(app: TestApp, workspaceId: string, rule: Record<string, unknown>): Promise<string> {
  const answer = await app.api('POST', `/api/workspaces/${workspaceId}/alert-rules`, { name: `rule ${String(rule['kind'])}`, ...rule });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.id as string;
}

/** The status (`ok`/`firing`) of each rule of the workspace, by rule id. */
export async function alertStatuses(app: TestApp, workspaceId: string): Promise<Record<string, string>> {
  const answer = await app.api('GET', `/api/workspaces/${workspaceId}/alerts`);
  expect(answer.status).toBe(200);
  return Object.fromEntries((answer.body.items as { ruleId: string; status: string }[]).map((item) => [item.ruleId, item.status]));
}
