import { BlockList, isIP } from 'node:net';
import { parseCidr, type Cidr } from '../../config/cidr.js';
import { HookflowError } from '../../errors/catalogue.js';

/** The answer for one address: allowed, or refused with a reason fit for a step's error. */
export type EgressVerdict = { allowed: true } | { allowed: false; reason: string };

/** Decides which resolved addresses outbound HTTP may connect to. */
export interface EgressPolicy {
  /** True when `ip` (a bare IPv4 or IPv6 address, no brackets) may be connected to. */
  isAllowed(ip: string): boolean;
  /** Like `isAllowed`, with the reason for a refusal (the range and what it is). */
  check(ip: string): EgressVerdict;
}

export interface EgressPolicyOptions {
  /**
   * CIDRs (`127.0.0.0/8`, `::1/128`) that open otherwise refused ranges, e.g. for local
   * testing. Default `[]`: every range in BLOCKED_RANGES stays shut.
   */
  allowlist?: readonly string[];
}

interface Range {
  readonly cidr: string;
  readonly what: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly list: BlockList;
}

/**
 * Ranges refused unless allowlisted: everything that is not a public unicast destination,
 * because any of them can reach the host itself, the private network or a cloud metadata
 * service. More specific ranges come first so the reason names the narrowest one.
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
    ['64:ff9b:1::/48', 'local-use NAT64'],
    ['100::/64', 'discard'],
    ['2001:db8::/32', 'documentation'],
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
 * Builds the policy once at start. Throws HOOKFLOW_ERR_CONFIG naming the entry when an
 * allowlist entry is not a CIDR, so a typo never silently leaves a range shut or open.
 */
export function createEgressPolicy(options: EgressPolicyOptions = {}): EgressPolicy {
  const allow = new BlockList();
  for (const entry of options.allowlist ?? []) {
    const { network, prefix, family } = parseCidrOrThrow(entry);
    allow.addSubnet(network, prefix, family);
  }

  function check(ip: string): EgressVerdict {
    const address = stripZone(ip);
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: `${JSON.stringify(ip)} is not an IP address` };
    const type = family === 4 ? 'ipv4' : 'ipv6';
    // Addresses that carry an IPv4 address inside reach that IPv4 host (through the
    // kernel, a NAT64 gateway or a 6to4 relay), so they are judged by it.
    const embedded = family === 6 ? embeddedIPv4(address) : undefined;
    if (allow.check(address, type) || (embedded !== undefined && allow.check(embedded, 'ipv4'))) {
      return { allowed: true };
    }
    const own = findRange(address, type);
    if (own) return { allowed: false, reason: `${address} is in ${own.cidr} (${own.what})` };
    if (embedded !== undefined) {
      const inner = findRange(embedded, 'ipv4');
      if (inner) {
        return { allowed: false, reason: `${address} embeds ${embedded}, which is in ${inner.cidr} (${inner.what})` };
      }
    }
    return { allowed: true };
  }

  return Object.freeze({ check, isAllowed: (ip: string) => check(ip).allowed });
}

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
  if (cidr === null) {
    throw new HookflowError(
      'HOOKFLOW_ERR_CONFIG',
      `Invalid egress allowlist entry ${JSON.stringify(entry)}: expected a CIDR such as 127.0.0.0/8 or ::1/128`,
      { transient: false },
    );
  }
  return cidr;
}

/** Drops an IPv6 zone (`fe80::1%eth0`): the zone picks an interface, not a different host. */
function stripZone(ip: string): string {
  const percent = ip.indexOf('%');
  return percent !== -1 && isIP(ip) === 6 ? ip.slice(0, percent) : ip;
}

/** The IPv4 address inside an IPv4-mapped, IPv4-translated, NAT64 or 6to4 address. */
function embeddedIPv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  const at = (index: number) => groups[index] ?? 0;
  const zero = (from: number, to: number) => groups.slice(from, to).every((group) => group === 0);
  const quad = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  if (zero(0, 5) && at(5) === 0xffff) return quad(at(6), at(7)); // ::ffff:0:0/96 mapped
  if (zero(0, 4) && at(4) === 0xffff && at(5) === 0) return quad(at(6), at(7)); // ::ffff:0:0:0/96 translated
  if (at(0) === 0x64 && at(1) === 0xff9b && zero(2, 6)) return quad(at(6), at(7)); // 64:ff9b::/96 NAT64
  if (at(0) === 0x2002) return quad(at(1), at(2)); // 2002::/16 6to4
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
