import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { HookflowError, toError } from '../../errors/catalogue.js';
import type { EgressPolicy } from './address-policy.js';

/** One resolved address, as `dns.lookup(name, { all: true })` returns them. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface GuardedAgentOptions {
  /** Which resolved addresses may be connected to. */
  policy: EgressPolicy;
  /**
   * Name resolution used before the check. Default: `dns.lookup` with `all: true` (the
   * system resolver, /etc/hosts included). Tests pass one to play DNS rebinding offline.
   */
  resolve?: Resolver;
  /** Milliseconds allowed to open the TCP (and TLS) connection. Default 10000, undici's. */
  connectTimeoutMs?: number;
}

/**
 * An undici Agent that only ever opens sockets to addresses the policy allows. The check
 * runs inside the socket's own DNS lookup, so the address checked is the address connected
 * to and a name that re-resolves differently later (DNS rebinding) is checked again.
 * Refusals fail the request with HOOKFLOW_ERR_EGRESS_REFUSED before any socket connects.
 */
export function createGuardedAgent(options: GuardedAgentOptions): Agent {
  const { policy } = options;
  const resolve = options.resolve ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  // A socket's lookup never learns the port, yet allowlist entries may name one: one connector
  // per destination port, each with a lookup that checks that port. Ports are few in practice.
  const connectors = new Map<number, buildConnector.connector>();
  const connectorFor = (port: number) => {
    let connector = connectors.get(port);
    if (connector === undefined) {
      connector = buildConnector({ lookup: guardedLookup(policy, resolve, port), timeout: options.connectTimeoutMs ?? 10_000 });
      connectors.set(port, connector);
    }
    return connector;
  };
  const connect: buildConnector.connector = (target, callback) => {
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    // node:net skips `lookup` for IP literals, so they are judged here instead.
    if (isIP(target.hostname) !== 0) {
      const verdict = policy.check(target.hostname, port);
      if (!verdict.allowed) {
        callback(egressRefused(target.hostname, verdict.reason), null);
        return;
      }
    }
    connectorFor(port)(target, callback);
  };
  return new Agent({ connect });
}

/** The error every refusal raises: names the host and the reason, never request data. */
export function egressRefused(host: string, reason: string): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_EGRESS_REFUSED', `Outbound request to ${host} refused: ${reason}`, {
    transient: false,
  });
}

/**
 * A `net.connect` lookup that hands the socket only allowed addresses. Refused ones are
 * dropped rather than failing the whole name, so a dual-stack name with one allowlisted
 * family still works; when nothing is left the connection fails with the first reason.
 */
function guardedLookup(policy: EgressPolicy, resolve: Resolver, port: number): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : undefined;
    resolve(hostname).then(
      (resolved) => {
        const allowed: ResolvedAddress[] = [];
        const refusals: string[] = [];
        for (const entry of resolved) {
          if (family !== undefined && entry.family !== family) continue;
          const verdict = policy.check(entry.address, port);
          if (verdict.allowed) allowed.push(entry);
          else refusals.push(verdict.reason);
        }
        const first = allowed[0];
        if (first === undefined) {
          callback(egressRefused(hostname, refusals[0] ?? 'the name resolved to no address'), '');
          return;
        }
        // Node 20 asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
        if (lookupOptions.all === true) callback(null, allowed);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(toError(error), ''),
    );
  };
}
