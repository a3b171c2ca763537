import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers of every console page and asset: scripts and connections only from this server (the
 * console works offline, no CDN), no framing, no referrer (URLs hold ids). Styles allow inline
 * `<style>`: the editor and charts inject theirs.
 */
const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Paths the console never answers, so a typo there stays a JSON 404 and never becomes the app's page. */
const NOT_CONSOLE = /^\/(?:api|metrics|healthz|readyz|livez)(?:[/?]|$)/;
/** Vite puts content-hashed files here: they never change, so browsers keep them a year. */
const HASHED_ASSETS = /^\/assets\/[^/]+$/;

/**
 * The web console (console/, built by `npm run build` into `dist/console`), at `/`: its files,
 * hashed assets cached for a year, and `index.html` for every other GET path (the app's own
 * client-side routes), never for `/api/…`. A server started without a built console serves none.
 */
export async function consoleRoutes(app: FastifyInstance, options: { dir: string }): Promise<void> {
  const root = resolve(options.dir);
  if (!existsSync(join(root, 'index.html'))) return;
  // `serve: false`: only reply.sendFile (path checks, ETag, ranges); the one route below picks the file.
  await app.register(fastifyStatic, { root, serve: false, cacheControl: false });

  app.get('/*', { config: { consolePage: true } }, async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    if (NOT_CONSOLE.test(path)) return reply.callNotFound();
    for (const [name, value] of Object.entries(CONSOLE_HEADERS)) void reply.header(name, value);
    const file = fileOf(root, path);
    if (file === null) return reply.header('cache-control', 'no-cache').sendFile('index.html');
    return reply.header('cache-control', HASHED_ASSETS.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache').sendFile(file);
  });
}

/** The file under `root` a URL path names (relative), or null when it names none (then the app's page answers). */
function fileOf(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const full = resolve(root, `.${decoded}`);
  if (!full.startsWith(root + sep)) return null;
  try {
    return statSync(full).isFile() ? full.slice(root.length + 1) : null;
  } catch {
    return null;
  }
}
