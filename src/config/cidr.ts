import { BlockList, isIP } from 'node:net';

/** A parsed CIDR block. */
export interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses `203.0.113.0/24` or `2001:db8::/32`; with `allowBareAddress`, a plain address means
 * that one host. Returns null for anything else (the caller words the error).
 */
export function parseCidr(entry: string, options: { allowBareAddress?: boolean } = {}): Cidr | null {
  const match = /^([^/%\s]+)(?:\/(\d{1,3}))?$/.exec(entry.trim());
  const network = match?.[1] ?? '';
  const family = isIP(network);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  if (match?.[2] === undefined && options.allowBareAddress !== true) return null;
  const prefix = match?.[2] === undefined ? max : Number(match[2]);
  if (!(prefix <= max)) return null;
  return { network, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** A BlockList holding the given parsed blocks. */
export function blockListOf(cidrs: readonly Cidr[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) list.addSubnet(cidr.network, cidr.prefix, cidr.family);
  return list;
}

/** An inclusive range of TCP ports, 1-65535. */
export interface PortRange {
  from: number;
  to: number;
}

/** One egress allowlist entry: a block of addresses, and the ports it opens (null = all). */
export interface EgressAllowEntry {
  cidr: Cidr;
  ports: PortRange | null;
}

/** What an egress allowlist entry looks like, for error messages. */
export const EGRESS_ENTRY_SYNTAX = 'a CIDR or address, optionally with :PORT or :FROM-TO (IPv6 in brackets), such as 127.0.0.0/8, 127.0.0.1:11434, ::1/128 or [::1]:8000-8100';

/**
 * Parses an egress allowlist entry: `127.0.0.0/8`, `127.0.0.1` (one host), `127.0.0.1:11434`,
 * `10.0.0.0/8:8000-8100`, `::1/128`, `[::1]:8000-8100`, `[fd00::/8]:443`. An IPv6 entry with a
 * port needs brackets: `::1:8000` is itself an address. Returns null for anything else.
 */
export function parseEgressAllowEntry(entry: string): EgressAllowEntry | null {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::(.+))?$/.exec(text);
  // Digits and dots before the colon: `64:ff9b::/96` starts like that too, so it must be IPv4.
  const ipv4 = /^([0-9.]+)(\/\d+)?(?::(.+))?$/.exec(text);
  const ipv4Parts = ipv4 !== null && isIP(ipv4[1] ?? '') === 4 ? [`${ipv4[1]}${ipv4[2] ?? ''}`, ipv4[3]] : null;
  const [address, portText] = bracketed !== null ? [bracketed[1], bracketed[2]] : (ipv4Parts ?? [text, undefined]);
  const cidr = parseCidr(address ?? '', { allowBareAddress: true });
  if (cidr === null) return null;
  // Brackets belong to IPv6 only.
  if (bracketed !== null && cidr.family !== 'ipv6') return null;
  if (portText === undefined) return { cidr, ports: null };
  const ports = parsePortRange(portText);
  return ports === null ? null : { cidr, ports };
}

function parsePortRange(text: string): PortRange | null {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (match === null) return null;
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  return from >= 1 && to <= 65_535 && from <= to ? { from, to } : null;
}
