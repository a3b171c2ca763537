import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/** Every complete workflow in docs/conditions-and-filters.md passes the save-time checks. */
let test: TestApp;

const markdown = readFileSync(join(import.meta.dirname, '..', 'docs', 'conditions-and-filters.md'), 'utf8');
const examples = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)]
  .map((match) => {
    try {
      return JSON.parse(match[1] ?? '') as Record<string, unknown>;
    } catch {
      return undefined; // a fragment with "…"
    }
  })
  .filter((example): example is Record<string, unknown> => example !== undefined && 'trigger' in example && 'steps' in example);

beforeAll(async () => {
  test = await startTestApp();
  await test.api('POST', '/api/workspaces', { id: 'docs', name: 'Docs' });
});
afterAll(async () => {
  await test.stop();
});

describe('docs/conditions-and-filters.md', () => {
  it('has the seed examples', () => {
    expect(examples.map((example) => example['name'])).toEqual(['GitHub events', 'Alerts', 'CRM contact updates']);
  });

  it.each(examples.map((example) => [example['name'], example] as const))('%s is accepted as written, without warnings', async (_name, example) => {
    const answer = await test.api('POST', '/api/workspaces/docs/workflows', example);
    expect(answer.body.details).toBeUndefined();
    expect(answer.status).toBe(201);
    expect(answer.body).not.toHaveProperty('warnings');
  });
});
