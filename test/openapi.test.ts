import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath, routesOf } from '../src/http/openapi.js';
import { startTestApp, type TestApp } from './helpers/app.js';

type Operation = { 'x-hookflow-role': string; security?: unknown[]; requestBody?: { content: Record<string, { schema: Record<string, any> }> }; parameters?: { name: string; in: string; schema: { maximum?: number } }[] };

describe('GET /api/openapi.json', () => {
  let test: TestApp;
  let document: { openapi: string; paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    test = await startTestApp();
    const response = await fetch(`${test.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/json');
    document = (await response.json()) as typeof document;
  });
  afterAll(() => test.stop());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toBe('3.1.0');
    const result = await new Validator().validate(structuredClone(document));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every route the server has, and no route it does not have', () => {
    const server = test.app.server as FastifyInstance;
    const routes = routesOf(server);
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes
      .filter((route) => document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()] === undefined)
      .map((route) => `${route.method} ${route.url}`);
    expect(missing, 'routes without an OpenAPI entry: add a row to src/http/route-docs.ts or config.openapi to the route').toEqual([]);
    const served = new Set(routes.map((route) => `${route.method} ${openApiPath(route.url)}`));
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const method of Object.keys(operations)) expect(served.has(`${method.toUpperCase()} ${path}`), `${method} ${path}`).toBe(true);
    }
    // The route list is Fastify's own: each one it names is routed.
    for (const route of routes) expect(server.hasRoute({ method: route.method as 'GET', url: route.url }), `${route.method} ${route.url}`).toBe(true);
  });

  it('states the role each route needs, matching what the server enforces', () => {
    for (const route of routesOf(test.app.server as FastifyInstance)) {
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      expect(operation?.['x-hookflow-role'], `${route.method} ${route.url}`).toBe(route.access?.role ?? 'public');
    }
    expect(document.paths['/api/workspaces/{ws}/workflows/{wf}']?.['put']?.['x-hookflow-role']).toBe('editor');
    expect(document.paths['/api/openapi.json']?.['get']?.security).toEqual([]);
  });

  it('describes requests with the schemas that validate them', async () => {
    const put = document.paths['/api/workspaces/{ws}/workflows/{wf}']?.['put'];
    const schema = put?.requestBody?.content['application/json']?.schema;
    expect(schema?.properties?.trigger?.properties?.signature?.properties?.scheme?.enum).toEqual(['github', 'stripe', 'slack', 'shopify', 'standard-webhooks', 'hmac-sha256']);
    expect(schema?.additionalProperties).toBe(false);
    const patch = document.paths['/api/workspaces/{ws}/workflows/{wf}']?.['patch'];
    expect(Object.keys(patch?.requestBody?.content ?? {})).toEqual(['application/merge-patch+json', 'application/json']);
    const runs = document.paths['/api/workspaces/{ws}/workflows/{wf}/runs']?.['get'];
    expect(runs?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:ws', 'path:wf', 'query:limit', 'query:cursor', 'query:status']);
    // A documented limit is the enforced one: the schema's maximum is refused one past it.
    const limit = runs?.parameters?.find((p) => p.name === 'limit');
    const over = await test.api('GET', `/api/workspaces/ws-x/workflows/wf-x/runs?limit=${(limit?.schema.maximum ?? 0) + 1}`);
    expect(over.status).toBe(400);
  });
});
