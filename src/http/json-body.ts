import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies of the management API: `application/json` and `application/merge-patch+json`
 * (RFC 7386, what PATCH takes), parsed with Fastify's own safe parser (prototype poisoning
 * refused). An empty body is no body: clients that send `content-type: application/json` on
 * every call, GET and DELETE included, are not refused for it; a route that needs a body
 * says so through its own validation.
 */
export function installJsonBodyParsers(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
