import type { FastifyInstance } from 'fastify';
import type { TestRunService } from '../workflows/test-runs.js';
import { installJsonBodyParsers } from './json-body.js';
import { pageOf, pageQuery, parseQuery } from './list-query.js';

/**
 * Test runs (docs/test-runs.md). Added to the management API's own scope (see
 * managementRoutes), so they sit behind the same authentication and id checks.
 */
export function testRunRoutes(app: FastifyInstance, testRuns: TestRunService): void {
  // A scope of its own: an inline event's body keeps numbers beyond 2^53 exact, as a webhook's does.
  void app.register(async (scope) => {
    installJsonBodyParsers(scope, { exactNumbers: true });
    scope.post<{ Params: { ws: string; wf: string } }>('/api/workspaces/:ws/workflows/:wf/test-runs', async (request, reply) => {
      // A caller that hangs up stops the steps still running (live mode). Watched on the response:
      // the request stream has already closed once its body was read, before this handler runs.
      const stop = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) stop.abort();
      });
      return testRuns.run(request.params.ws, request.params.wf, request.body, stop.signal);
    });
  });

  app.get<{ Params: { ws: string; wf: string } }>('/api/workspaces/:ws/workflows/:wf/test-runs', async (request) =>
    testRuns.list(request.params.ws, request.params.wf, pageOf(parseQuery(pageQuery, request.query))),
  );

  app.get<{ Params: { ws: string; testRunId: string } }>('/api/workspaces/:ws/test-runs/:testRunId', async (request) =>
    testRuns.get(request.params.ws, request.params.testRunId),
  );
}
