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
