import type { FastifyInstance } from 'fastify';
import { parseExactJson } from '../util/exact-json.js';

/**
 * JSON bodies of the management API: `application/json` and `application/merge-patch+json`
 * (RFC 7386, what PATCH takes), parsed with Fastify's own safe parser (prototype poisoning
 * refused). An empty body is no body: clients that send `content-type: application/json` on
 * every call, GET and DELETE included, are not refused for it; a route that needs a body
 * says so through its own validation.
 *
 * `exactNumbers`: a body that Fastify's parser accepted, and that holds a number a double
 * cannot keep, is read again with its exact digits (docs/numbers.md). Only for routes whose
 * bodies carry event data (test runs); a definition keeps plain numbers.
 */
export function installJsonBodyParsers(app: FastifyInstance, options: { exactNumbers?: boolean } = {}): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'application/merge-patch+json'].filter((type) => app.hasContentTypeParser(type)));
  app.addContentTypeParser(['application/json', 'application/merge-patch+json'], { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') {
      done(null, undefined);
      return;
    }
    if (options.exactNumbers !== true) {
      parseJson(request, text, done);
      return;
    }
    // The safe parser first: it refuses `__proto__` and `constructor` keys, which the exact one would not.
    parseJson(request, text, (error, value) => (error === null ? done(null, parseExactJson(text)) : done(error, value)));
  });
}
