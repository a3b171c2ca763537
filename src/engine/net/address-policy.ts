import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { EGRESS_ENTRY_SYNTAX, parseCidr, parseEgressAllowEntry, type Cidr, type EgressAllowEntry, type PortRange } from '../../config/cidr.js';
import { HookflowError } from '../../errors/catalogue.js';

/** The answer for one address: allowed, or refused with a reason fit for a step's error. */
export type EgressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Decides which resolved addresses (and ports) outbound HTTP may connect to. */
export interface EgressPolicy {
  /**
   * True when `ip` (a bare IPv4 or IPv6 address, no brackets) may be connected to on `port`.
   * Without a port, only allowlist entries that open every port count.
   */
  isAllowed(ip: string, port?: number): boolean;
  /** Like `isAllowed`, with the reason for a refusal (the range and what it is). */
  check(ip: string, port?: number): EgressVerdict;
}

/** An address and port hookflow itself listens on. */
export interface OwnEndpoint {
  /** The listen address; `0.0.0.0` or `::` mean every local address. */
  address: string;
  port: number;
}

export interface EgressPolicyOptions {
  /**
   * Entries (`127.0.0.0/8`, `127.0.0.1:11434`, `[::1]:8000-8100`, see parseEgressAllowEntry)
   * that open otherwise refused ranges, on all ports or only the ones named. An entry opens
   * addresses of its own family only. Default `[]`: every range in BLOCKED_RANGES stays shut.
   */
  allowlist?: readonly string[];
  /**
   * Where hookflow itself listens, read at each check (the port is known only once the
   * server listens). Refused whatever the allowlist says: a step must not reach the API it
   * runs behind. Default: none.
   */
  ownEndpoints?: () => readonly OwnEndpoint[];
}

interface Range {
  readonly cidr: string;
  readonly what: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly list: BlockList;
}

interface AllowRule {
  /** One subnet; only ever checked with addresses of its own family. */
  readonly list: BlockList;
  readonly family: 'ipv4' | 'ipv6';
  readonly ports: PortRange | null;
}

/**
 * Ranges refused unless allowlisted: everything that is not a public unicast destination,
 * because any of them can reach the host itself, the private network or a cloud metadata
 * service. More specific ranges come first so the reason names the narrowest one. The IPv6
 * ranges that carry an IPv4 address are refused as their own ranges: an IPv4 allowlist entry
 * never opens them (see EMBEDDING_RANGES for the two that may still reach public hosts).
 */
const BLOCKED_RANGES: readonly Range[] = (
  [
    ['0.0.0.0/8', '"this network"'],
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'carrier-grade NAT'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local, cloud metadata'],
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'IETF protocol assignments'],
    ['192.0.2.0/24', 'documentation'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'benchmarking'],
    ['198.51.100.0/24', 'documentation'],
    ['203.0.113.0/24', 'documentation'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved, broadcast'],
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    // Deprecated IPv4-compatible addresses: never a legitimate destination today.
    ['::/96', 'IPv4-compatible'],
    ['::ffff:0:0/96', 'IPv4-mapped'],
    ['::ffff:0:0:0/96', 'IPv4-translated'],
    ['64:ff9b::/96', 'NAT64'],
    ['64:ff9b:1::/48', 'local-use NAT64'],
    ['100::/64', 'discard'],
    ['2001::/32', 'Teredo'],
    ['2001:db8::/32', 'documentation'],
    ['2002::/16', '6to4'],
    ['fc00::/7', 'unique local'],
    ['fe80::/10', 'link-local'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([cidr, what]) => {
  const { network, prefix, family } = parseCidrOrThrow(cidr);
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { cidr, what, family, list };
});

/**
 * The embedding ranges that still reach a PUBLIC IPv4 host: the kernel connects an IPv4-mapped
 * address over IPv4, and on IPv6-only networks DNS64 answers every IPv4-only name with a
 * 64:ff9b::/96 address. Such an address is allowed when its IPv4 address is public, never
 * because an IPv4 allowlist entry names it.
 */
const EMBEDDING_RANGES = new Set(['::ffff:0:0/96', '64:ff9b::/96']);

/**
 * Builds the policy once at start. Throws HOOKFLOW_ERR_CONFIG naming the entry when an
 * allowlist entry does not parse, so a typo never silently leaves a range shut or open.
 */
export function createEgressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const rules: AllowRule[] = (options.allowlist ?? []).map((entry) => {
    const { cidr, ports } = parseEntryOrThrow(entry);
    const list = new BlockList();
    list.addSubnet(cidr.network, cidr.prefix, cidr.family);
    return { list, family: cidr.family, ports };
  });
  const ownEndpoints = options.ownEndpoints ?? (() => []);

  // Node's BlockList matches IPv4 subnets against IPv4-mapped IPv6 addresses, so every rule
  // is checked only with addresses of its own family: `127.0.0.1/32` must not open `::ffff:7f00:1`.
  const allowedByRule = (address: string, type: 'ipv4' | 'ipv6', port: number | undefined) =>
    rules.some((rule) => rule.family === type && rule.list.check(address, type) && (rule.ports === null || (port !== undefined && port >= rule.ports.from && port <= rule.ports.to)));

  function check(ip: string, port?: number): EgressVerdict {
    const address = stripZone(ip);
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: `${JSON.stringify(ip)} is not an IP address` };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const embedded = family === 6 ? embeddedIPv4(address) : undefined;
    if (port !== undefined && isOwnEndpoint(ownEndpoints(), port, [address, ...(embedded === undefined ? [] : [embedded])])) {
      return { allowed: false, reason: `${address} port ${port} is hookflow's own listen address` };
    }
    if (allowedByRule(address, type, port)) return { allowed: true };
    const own = findRange(address, type);
    if (own === undefined) return { allowed: true };
    const inner = embedded === undefined ? undefined : findRange(embedded, 'ipv4');
    if (embedded !== undefined && inner === undefined && EMBEDDING_RANGES.has(own.cidr)) return { allowed: true };
    const portNote = rules.some((rule) => rule.family === type && rule.ports !== null && rule.list.check(address, type)) ? ` (the allowlist opens it on other ports than ${port ?? 'this one'})` : '';
    const embeds = embedded === undefined ? '' : `, which embeds ${embedded}${inner === undefined ? '' : ` (${inner.what})`}`;
    return { allowed: false, reason: `${address} is in ${own.cidr} (${own.what})${embeds}${portNote}` };
  }

  return Object.freeze({ check, isAllowed: (ip: string, port?: number) => check(ip, port).allowed });
}

/**
 * True when one of `addresses` on `port` reaches a socket hookflow listens on: the listen
 * address itself, or, for a wildcard listener, any address of this host (loopback, the
 * unspecified address, which Linux connects locally, and every interface's address).
 */
function isOwnEndpoint(endpoints: readonly OwnEndpoint[], port: number, addresses: readonly string[]): boolean {
  const listeners = endpoints.filter((endpoint) => endpoint.port === port);
  if (listeners.length === 0) return false;
  const local = (candidate: string) =>
    LOCAL_HOST.check(candidate, isIP(candidate) === 4 ? 'ipv4' : 'ipv6') ||
    Object.values(networkInterfaces()).some((infos) => infos?.some((info) => stripZone(info.address) === candidate) ?? false);
  return listeners.some(({ address: listen }) =>
    addresses.some((candidate) => candidate === listen || ((listen === '0.0.0.0' || listen === '::') && local(candidate))),
  );
}

/** Addresses that always mean this host. */
const LOCAL_HOST = (() => {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addSubnet('0.0.0.0', 32, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('::', 'ipv6');
  return list;
})();

/**
 * Canonical form of a URL host the way a browser reads it: odd IPv4 spellings (`127.1`,
 * `0x7f000001`, `2130706433`, `0177.0.0.1`) become dotted quads, IPv6 is compressed and
 * returned without brackets, names are lower-cased and punycoded. Throws
 * HOOKFLOW_ERR_EGRESS_REFUSED for anything that is not a bare host (port, path, user info).
 */
export function normalizeHost(hostname: string): string {
  const bare6 = isIP(hostname) === 6;
  const literal6 = bare6 || (hostname.startsWith('[') && hostname.endsWith(']'));
  let url: URL | undefined;
  // The URL parser would quietly split off a port, path or user info; a host has none.
  if (!/[\s/\\?#@]/.test(hostname) && (literal6 || !hostname.includes(':'))) {
    try {
      url = new URL(`http://${bare6 ? `[${hostname}]` : hostname}/`);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || url.host !== url.hostname || url.hostname === '') {
    throw new HookflowError('HOOKFLOW_ERR_EGRESS_REFUSED', `${JSON.stringify(hostname)} is not a valid host`, {
      transient: false,
    });
  }
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function findRange(address: string, type: 'ipv4' | 'ipv6'): Range | undefined {
  return BLOCKED_RANGES.find((range) => range.family === type && range.list.check(address, type));
}

function parseCidrOrThrow(entry: string): Cidr {
  const cidr = parseCidr(entry);
  if (cidr === null) throw new Error(`bad built-in range ${entry}`);
  return cidr;
}

function parseEntryOrThrow(entry: string): EgressAllowEntry {
  const parsed = parseEgressAllowEntry(entry);
  if (parsed === null) {
    throw new HookflowError('HOOKFLOW_ERR_CONFIG', `Invalid egress allowlist entry ${JSON.stringify(entry)}: expected ${EGRESS_ENTRY_SYNTAX}`, {
      transient: false,
    });
  }
  return parsed;
}

/** Drops an IPv6 zone (`fe80::1%eth0`): the zone picks an interface, not a different host. */
function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent !== -1 && isIP(ip) === 6 ? ip.slice(0, percent) : ip;
}

/** The IPv4 address inside an IPv4-mapped, -translated or -compatible, NAT64, 6to4 or Teredo address. */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  const at = (index: number) => groups[index] ?? 0;
  const zero = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  const quad = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  if (zero(0, 5) && at(5) === 0xffff) return quad(at(6), at(7)); // ::ffff:0:0/96 mapped
  if (zero(0, 4) && at(4) === 0xffff && at(5) === 0) return quad(at(6), at(7)); // ::ffff:0:0:0/96 translated
  if (at(0) === 0x64 && at(1) === 0xff9b && zero(2, 6)) return quad(at(6), at(7)); // 64:ff9b::/96 NAT64
  if (at(0) === 0x2002) return quad(at(1), at(2)); // 2002::/16 6to4
  if (at(0) === 0x2001 && at(1) === 0) return quad(~at(6) & 0xffff, ~at(7) & 0xffff); // 2001::/32 Teredo: the client, bits inverted
  if (zero(0, 6) && (at(6) !== 0 || at(7) > 1)) return quad(at(6), at(7)); // ::/96 IPv4-compatible (not :: or ::1)
  return undefined;
}

/** Eight 16-bit groups of an address `net.isIP` already accepted as IPv6. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = parse(head);
  if (tail === undefined) return front;
  const back = parse(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}
