import { connect } from 'node:net';

/**
 * Sends raw bytes to `baseUrl`'s host and port on a fresh connection and resolves with
 * everything the server wrote back once it closes the connection (or after `timeoutMs`).
 * For requests no well-behaved client would send (a `#` in the target, broken framing).
 */
export function rawExchange(baseUrl: string, text: string, timeoutMs = 5000): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on('connect', () => socket.write(text));
  });
}
