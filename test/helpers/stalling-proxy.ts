import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a loopback server that can be told to stop passing
 * bytes while keeping every connection open: what a hung database server or a black-holed
 * network looks like to a client (no error, no answer). Or to cut: every connection is reset and
 * new ones are refused until `resume`, what a restarting database server looks like.
 */
export async function startStallingProxy(target: { host: string; port: number }): Promise<{ port: number; stall(): void; cut(): void; resume(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection(target);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on('data', (chunk: Buffer) => {
        if (!stalled) to.write(chunk);
      });
      from.on('close', () => {
        to.destroy();
        pairs.delete(pair);
      });
      from.on('error', () => to.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stall: () => {
      stalled = true;
    },
    cut: () => {
      cut = true;
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
    },
    resume: () => {
      stalled = false;
      cut = false;
    },
    close: async () => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
