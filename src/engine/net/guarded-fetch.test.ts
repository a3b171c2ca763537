import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type LookupFunction, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEgressPolicy } from './address-policy.js';
import { createGuardedHttpClient, type GuardedHttpClient, type GuardedHttpClientOptions } from './guarded-fetch.js';
import type { Resolver } from './guarded-agent.js';

// Every socket these tests open goes to the loopback servers started below. The tripwire
// enforces that independently of the code under test: a socket aimed anywhere else is
// destroyed before it connects and recorded as a violation, which fails the test.

const isLoopback = (ip: string) => ip === '::1' || /^(::ffff:)?127\./i.test(ip);
const sockets = { created: 0, connected: [] as string[], violations: [] as string[] };

function tripwire(message: unknown): void {
  const socket = (message as { socket: Socket }).socket;
  sockets.created += 1;
  socket.once('connect', () => sockets.connected.push(socket.remoteAddress ?? '?'));
  const connect = socket.connect.bind(socket) as (...args: unknown[]) => Socket;
  (socket as { connect: (...args: unknown[]) => Socket }).connect = (...args) => {
    const target = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string; lookup?: LookupFunction };
    const host = target.host ?? '';
    if (isIP(host) !== 0 ? !isLoopback(host) : target.lookup === undefined) {
      sockets.violations.push(host);
      return socket.destroy(new Error(`tripwire: refused to connect to ${host}`));
    }
    const lookup = target.lookup;
    if (lookup) {
      target.lookup = (hostname, options, callback) =>
        lookup(hostname, options, (error, address, family) => {
          const addresses = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
          const outside = error ? [] : addresses.filter((ip) => !isLoopback(ip));
          if (outside.length > 0) {
            sockets.violations.push(...outside);
            callback(new Error(`tripwire: ${hostname} resolved outside loopback`), '');
          } else callback(error, address, family);
        });
    }
    return connect(...args);
  };
}

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function startServer(host: string, name: string, seen: Seen[], port = 0): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://placeholder');
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: url.pathname, headers: req.headers, body });
      if (url.pathname === '/hang') return; // never answers
      if (url.pathname === '/redirect') {
        res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('to') ?? '/' });
        res.end('moved');
        return;
      }
      if (url.pathname === '/loop') {
        res.writeHead(302, { location: '/loop' }).end();
        return;
      }
      if (url.pathname === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < 8; i += 1) res.write(Buffer.alloc(1024, 97));
        res.end();
        return;
      }
      if (url.pathname === '/close') res.setHeader('connection', 'close');
      res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name, 'set-cookie': ['a=1', 'b=2'] });
      res.end(`hello from ${name}`);
    });
  });
  return new Promise((resolve) => server.listen({ port, host, ipv6Only: host === '::1' }, () => resolve(server)));
}

const seen4: Seen[] = [];
const seen6: Seen[] = [];
let server4: Server;
let server6: Server;
let port: number;
let base4: string;
let base6: string;
const clients: GuardedHttpClient[] = [];

function client(allowlist: string[], extra: Partial<GuardedHttpClientOptions> = {}): GuardedHttpClient {
  const created = createGuardedHttpClient({
    policy: createEgressPolicy({ allowlist }),
    defaultTimeoutMs: 5_000,
    maxResponseBytes: 4_096,
    ...extra,
  });
  clients.push(created);
  return created;
}

/** A resolver from a fixed table, so name tests never touch DNS. */
function fakeDns(table: Record<string, string[]>): Resolver {
  return async (hostname) =>
    (table[hostname] ?? []).map((address) => ({ address, family: isIP(address) }));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Matches a refusal whose message holds every fragment, in order. */
const refused = (...fragments: string[]) =>
  expect.objectContaining({
    code: 'HOOKFLOW_ERR_EGRESS_REFUSED',
    transient: false,
    message: expect.stringMatching(new RegExp(fragments.map(escape).join('.*'))),
  });
/** Matches a step failure, permanent or transient, whose message holds the fragment. */
const failed = (transient: boolean, fragment = '') =>
  expect.objectContaining({ code: 'HOOKFLOW_ERR_STEP_FAILED', transient, message: expect.stringContaining(fragment) });
const get = (allowlist: string[], url: string, extra: Partial<GuardedHttpClientOptions> = {}) =>
  client(allowlist, extra).request({ method: 'GET', url });

beforeAll(async () => {
  subscribe('net.client.socket', tripwire);
  server4 = await startServer('127.0.0.1', 'v4', seen4);
  port = (server4.address() as AddressInfo).port;
  // The same port on ::1, so a name resolving to both would reach either if unguarded.
  server6 = await startServer('::1', 'v6', seen6, port);
  base4 = `http://127.0.0.1:${port}`;
  base6 = `http://[::1]:${port}`;
});

afterAll(async () => {
  unsubscribe('net.client.socket', tripwire);
  await Promise.all(clients.map((each) => each.close()));
  for (const server of [server4, server6]) {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }
});

beforeEach(() => {
  seen4.length = 0;
  seen6.length = 0;
  Object.assign(sockets, { created: 0, connected: [], violations: [] });
});

afterEach(() => {
  expect(sockets.violations).toEqual([]);
  expect(sockets.connected.every(isLoopback)).toBe(true);
});

describe('guarded fetch: addresses', () => {
  it('refuses a loopback server without an allowlist, without opening a socket', async () => {
    const request = get([], `${base4}/ok`);
    await expect(request).rejects.toThrow(refused('127.0.0.1', '127.0.0.0/8', 'loopback'));
    expect(sockets.created).toBe(0);
    expect(seen4).toEqual([]);
  });

  it('allows it with 127.0.0.0/8 allowlisted', async () => {
    const response = await get(['127.0.0.0/8'], `${base4}/ok`);
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('hello from v4');
    expect(response.headers['x-served-by']).toBe('v4');
    expect(response.headers['set-cookie']).toBe('a=1, b=2');
    expect(response.url).toBe(`${base4}/ok`);
  });

  it('refuses a redirect from an allowed server to [::1] when only 127.0.0.0/8 is open', async () => {
    const to = encodeURIComponent(`${base6}/ok`);
    const request = get(['127.0.0.0/8'], `${base4}/redirect?to=${to}`);
    await expect(request).rejects.toThrow(refused('::1', '::1/128', 'loopback'));
    expect(seen4).toHaveLength(1);
    expect(seen6).toEqual([]);
  });

  it('refuses a redirect to 169.254.169.254 before connecting to it', async () => {
    const to = encodeURIComponent('http://169.254.169.254/latest/meta-data/');
    const request = get(['127.0.0.0/8'], `${base4}/redirect?to=${to}`);
    await expect(request).rejects.toThrow(refused('169.254.169.254', '169.254.0.0/16'));
    // One socket, to the loopback server; none was even created for the metadata address.
    expect(sockets.created).toBe(1);
    expect(sockets.connected).toEqual(['127.0.0.1']);
  });

  it('refuses a redirect to a name that resolves to the metadata address', async () => {
    const dns = fakeDns({ 'metadata.test': ['169.254.169.254'] });
    const to = encodeURIComponent('http://metadata.test/latest/meta-data/');
    const request = get(['127.0.0.0/8'], `${base4}/redirect?to=${to}`, { resolve: dns });
    await expect(request).rejects.toThrow(refused('metadata.test', '169.254.169.254', '169.254.0.0/16'));
    expect(sockets.connected).toEqual(['127.0.0.1']);
  });

  it('connects only to the allowed addresses of a dual-stack name', async () => {
    const dns = fakeDns({ 'dual.test': ['::1', '127.0.0.1'] });
    const response = await get(['127.0.0.0/8'], `http://dual.test:${port}/ok`, { resolve: dns });
    expect(response.headers['x-served-by']).toBe('v4');
    expect(seen6).toEqual([]);
  });

  it('checks every new connection again, so a rebound name is refused', async () => {
    const answers = [['127.0.0.1'], ['::1']];
    const dns: Resolver = async () => (answers.shift() ?? []).map((address) => ({ address, family: isIP(address) }));
    const rebinding = client(['127.0.0.0/8'], { resolve: dns });
    // /close ends the connection, so the second request must resolve and connect afresh.
    const first = await rebinding.request({ method: 'GET', url: `http://rebind.test:${port}/close` });
    expect(first.status).toBe(200);
    const second = rebinding.request({ method: 'GET', url: `http://rebind.test:${port}/ok` });
    await expect(second).rejects.toThrow(refused('rebind.test', '::1'));
    expect(seen6).toEqual([]);
  });

  it('never puts header values into a refusal', async () => {
    const headers = { authorization: 'Bearer s3cret' };
    const error = await client([])
      .request({ method: 'GET', url: `${base4}/ok`, headers })
      .catch((thrown: unknown) => thrown);
    expect(error).toEqual(refused('127.0.0.1'));
    expect(String((error as Error).message)).not.toContain('s3cret');
  });

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/x', 'gopher://127.0.0.1/', 'data:text/plain,hi'])(
    'refuses the scheme of %s',
    async (url) => {
      await expect(get(['127.0.0.0/8'], url)).rejects.toThrow(refused('is not allowed'));
      expect(sockets.created).toBe(0);
    },
  );

  it('refuses a redirect to a file: URL', async () => {
    const to = encodeURIComponent('file:///etc/passwd');
    const request = get(['127.0.0.0/8'], `${base4}/redirect?to=${to}`);
    await expect(request).rejects.toThrow(refused('file:'));
  });
});

describe('guarded fetch: redirects', () => {
  it.each<[number, string, string]>([
    [301, 'GET', ''],
    [302, 'GET', ''],
    [303, 'GET', ''],
    [307, 'POST', 'payload'],
    [308, 'POST', 'payload'],
  ])('%i answers a POST with %s %j', async (status, method, body) => {
    const url = `${base4}/redirect?status=${status}&to=/echo`;
    const response = await client(['127.0.0.0/8']).request({
      method: 'POST',
      url,
      headers: { 'content-type': 'text/plain' },
      body: 'payload',
    });
    expect(response.status).toBe(200);
    expect(response.url).toBe(`${base4}/echo`);
    const last = seen4.at(-1);
    expect(last).toMatchObject({ method, url: '/echo', body });
    expect(last?.headers['content-type']).toBe(method === 'POST' ? 'text/plain' : undefined);
  });

  /** POSTs through a 307 (or `status`) from base4 to other.test (same address, another origin). */
  async function crossOrigin(options: Partial<import('./guarded-fetch.js').GuardedRequest> = {}, status = 307) {
    const dns = fakeDns({ 'other.test': ['127.0.0.1'] });
    const to = encodeURIComponent(`http://other.test:${port}/echo`);
    return client(['127.0.0.0/8'], { resolve: dns }).request({
      method: 'POST',
      url: `${base4}/redirect?status=${status}&to=${to}`,
      headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y', 'private-token': 't0ken', 'content-type': 'text/plain' },
      body: 'payload',
      ...options,
    });
  }
  const stepHeaders = ['authorization', 'x-api-key', 'private-token', 'content-type'];

  it('by default, another origin gets none of the headers the caller set and no body', async () => {
    const response = await crossOrigin();
    expect(response.status).toBe(200);
    expect(seen4[0]).toMatchObject({ method: 'POST', body: 'payload', headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y' } });
    expect(seen4[1]).toMatchObject({ method: 'POST', url: '/echo', body: '' });
    for (const name of stepHeaders) expect(seen4[1]?.headers[name]).toBeUndefined();
    expect(seen4[1]?.headers.host).toBe(`other.test:${port}`);
  });

  it('same-origin redirects keep headers and the 307 body', async () => {
    await client(['127.0.0.0/8']).request({ method: 'POST', url: `${base4}/redirect?status=307&to=/echo`, headers: { 'x-api-key': 'k3y' }, body: 'payload', redirects: 'same-origin' });
    expect(seen4[1]).toMatchObject({ method: 'POST', url: '/echo', body: 'payload', headers: { 'x-api-key': 'k3y' } });
  });

  it('same-origin does not follow a redirect to another origin: the 3xx is the answer', async () => {
    const response = await crossOrigin({ redirects: 'same-origin' });
    expect(response.status).toBe(307);
    expect(response.headers.location).toBe(`http://other.test:${port}/echo`);
    expect(seen4).toHaveLength(1);
  });

  it('none returns even a same-origin redirect as is', async () => {
    const response = await client(['127.0.0.0/8']).request({ method: 'GET', url: `${base4}/redirect?to=/echo`, redirects: 'none' });
    expect(response.status).toBe(302);
    expect(seen4).toHaveLength(1);
  });

  it('any-with-headers carries headers and the 307 body across, except bound headers', async () => {
    await crossOrigin({ redirects: 'any-with-headers', boundHeaders: ['Authorization'] });
    expect(seen4[1]).toMatchObject({ method: 'POST', url: '/echo', body: 'payload', headers: { 'x-api-key': 'k3y', 'private-token': 't0ken', 'content-type': 'text/plain' } });
    expect(seen4[1]?.headers.authorization).toBeUndefined();
  });

  it('bound headers stay on same-origin hops', async () => {
    await client(['127.0.0.0/8']).request({ method: 'GET', url: `${base4}/redirect?to=/echo`, headers: { authorization: 'Bearer s3cret' }, boundHeaders: ['authorization'] });
    expect(seen4[1]?.headers.authorization).toBe('Bearer s3cret');
  });

  it('gives up after maxRedirects', async () => {
    const request = get(['127.0.0.0/8'], `${base4}/loop`, { maxRedirects: 2 });
    await expect(request).rejects.toThrow(failed(false, 'after 2 redirects'));
    expect(seen4).toHaveLength(3);
  });
});

describe('guarded fetch: request and response limits', () => {
  it.each<Record<string, string>>([{ 'x-evil': 'a\r\nInjected: 1' }, { 'x-evil': 'a\nb' }, { 'bad\r\nname': 'x' }])(
    'refuses the header %j before sending',
    async (headers) => {
      const error = await client(['127.0.0.0/8'])
        .request({ method: 'GET', url: `${base4}/ok`, headers })
        .catch((thrown: unknown) => thrown);
      expect(error).toEqual(failed(false));
      expect(String((error as Error).message)).not.toContain('Injected');
      expect(sockets.created).toBe(0);
    },
  );

  it('rejects a response over the size cap, naming the limit', async () => {
    const request = get(['127.0.0.0/8'], `${base4}/big`, { maxResponseBytes: 1_000 });
    await expect(request).rejects.toThrow(failed(false, '1000-byte limit'));
  });

  it('accepts a response exactly at the cap', async () => {
    const response = await get(['127.0.0.0/8'], `${base4}/big`, { maxResponseBytes: 8_192 });
    expect(response.body).toHaveLength(8_192);
  });

  it('times out against a server that never answers', async () => {
    const request = client(['127.0.0.0/8']).request({ method: 'GET', url: `${base4}/hang`, timeoutMs: 200 });
    await expect(request).rejects.toThrow(failed(true, 'timed out after 200 ms'));
  });

  it('reports a refused connection as transient and keeps the cause', async () => {
    const closed = await startServer('127.0.0.1', 'gone', []);
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await get(['127.0.0.0/8'], `http://127.0.0.1:${closedPort}/`).catch((thrown: unknown) => thrown);
    expect(error).toEqual(failed(true, 'ECONNREFUSED'));
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('refuses bad options at creation', () => {
    const config = expect.objectContaining({ code: 'HOOKFLOW_ERR_CONFIG' });
    expect(() => client([], { defaultTimeoutMs: 0 })).toThrow(config);
    expect(() => client([], { maxRedirects: -1 })).toThrow(config);
    expect(() => client([], { maxResponseBytes: 1.5 })).toThrow(config);
  });
});
