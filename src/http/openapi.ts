import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { RESOURCE_ID } from '../config/workflow-definition.js';
import { SECRET_NAME } from '../workflows/workspace-secrets.js';
import { accessOf, type RouteAccess } from './access-control.js';
import { errorAnswer } from './api-schemas.js';
import { ROUTE_DOCS } from './route-docs.js';

/** What the OpenAPI document says about one route. Requests are described by the zod schemas that validate them. */
export interface RouteDoc {
  summary: string;
  description?: string;
  tag: string;
  /** The query schema the handler parses with. */
  query?: z.ZodObject;
  /** The body schema, and the content types taken (default application/json). */
  body?: { schema: z.ZodType; contentTypes?: string[]; required?: boolean };
  /** Answers by status; `schema` absent = no body (204) or not JSON. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string; headers?: string[] }>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's entry in the OpenAPI document (else its ROUTE_DOCS row). */
    openapi?: RouteDoc;
    /** A page of the web console (http/console-routes.ts), not part of the API: left out of the document. */
    consolePage?: true;
  }
}

/** One route as the server has it. */
export interface SeenRoute {
  method: string;
  url: string;
  access: RouteAccess | undefined;
  doc: RouteDoc | undefined;
}

const jsonSchema = (schema: z.ZodType): Record<string, unknown> => {
  // Requests are documented as senders write them (before defaults and transforms).
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
};

const STANDARD_ERRORS: Record<number, string> = {
  400: 'Invalid input; `details` names each field',
  401: 'No valid admin or API token',
  403: 'The token\'s role is below the route\'s, or it is scoped to one workspace and the route spans all',
  404: 'Unknown id, or outside the token\'s workspace',
  503: 'Storage unavailable; Retry-After says when to come back',
};

/** A Fastify route URL as an OpenAPI path: `:name` → `{name}`, a trailing `*` → `{path}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{path}');
}

function operation(route: SeenRoute, doc: RouteDoc): Record<string, unknown> {
  const pathParams = [...openApiPath(route.url).matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] as string);
  const parameters: Record<string, unknown>[] = pathParams.map((name) => ({
    name, in: 'path', required: true,
    schema: name === 'path' ? { type: 'string', description: 'Any suffix, kept as webhook.path' } : { type: 'string', pattern: name === 'name' ? SECRET_NAME.source : RESOURCE_ID.source },
  }));
  if (doc.query !== undefined) {
    for (const [name, field] of Object.entries(doc.query.shape as Record<string, z.ZodType>)) {
      parameters.push({ name, in: 'query', required: !field.safeParse(undefined).success, schema: jsonSchema(field) });
    }
  }
  const role = route.access?.role ?? 'public';
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    responses[status] = {
      description: answer.description,
      ...(answer.schema === undefined ? {} : { content: { [answer.contentType ?? 'application/json']: { schema: jsonSchema(answer.schema) } } }),
      ...(answer.headers === undefined ? {} : { headers: Object.fromEntries(answer.headers.map((name) => [name, { schema: { type: 'string' } }])) }),
    };
  }
  if (role !== 'public') {
    for (const [status, description] of Object.entries(STANDARD_ERRORS)) {
      responses[status] ??= { description, content: { 'application/json': { schema: jsonSchema(errorAnswer) } } };
    }
  }
  return {
    operationId: `${route.method.toLowerCase()}${openApiPath(route.url).replace(/[^A-Za-z0-9]+(.)?/g, (_m, next: string | undefined) => (next ?? '').toUpperCase())}`,
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    tags: [doc.tag],
    'x-hookflow-role': role,
    ...(role === 'public' ? { security: [] } : {}),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(doc.body === undefined
      ? {}
      : {
          requestBody: {
            required: doc.body.required ?? true,
            content: Object.fromEntries((doc.body.contentTypes ?? ['application/json']).map((type) => [type, { schema: jsonSchema(doc.body!.schema) }])),
          },
        }),
    responses,
  };
}

/** Builds the OpenAPI 3.1 document from the documented routes; undocumented ones are left out (the route test names them). */
export function buildOpenApiDocument(routes: readonly SeenRoute[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.doc === undefined) continue;
    (paths[openApiPath(route.url)] ??= {})[route.method.toLowerCase()] = operation(route, route.doc);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'hookflow',
      version: info.version,
      description: 'Webhooks in, durable workflow runs out. Reference: docs/api.md (management API) and docs/webhook-contract.md (the webhook endpoint).',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The admin token, or an API token from POST /api/tokens' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

/** Every route registered after this call, with its access and doc: what the document and its test are built from. */
const seenRoutes = new WeakMap<FastifyInstance, SeenRoute[]>();

/** The routes `app` has (all methods but HEAD), documented or not. */
export function routesOf(app: FastifyInstance): readonly SeenRoute[] {
  return seenRoutes.get(app) ?? [];
}

/**
 * Collects routes as they are added (call on the root instance before registering any) and
 * serves `GET /api/openapi.json`, built once on first request. No token needed: the document
 * describes the API, never data.
 */
export function installOpenApi(app: FastifyInstance, options: { version: string }): void {
  const routes: SeenRoute[] = [];
  seenRoutes.set(app, routes);
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.config?.consolePage === true) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      routes.push({ method, url: route.url, access: accessOf(route), doc: route.config?.openapi ?? ROUTE_DOCS[`${method} ${route.url}`] });
    }
  });
  let document: string | undefined;
  app.get('/api/openapi.json', async (_request, reply) => {
    document ??= JSON.stringify(buildOpenApiDocument(routes, options));
    return reply.type('application/json').send(document);
  });
}
