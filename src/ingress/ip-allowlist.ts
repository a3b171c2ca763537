import { isIPv4 } from 'node:net';
import { blockListOf, parseCidr, type Cidr } from '../config/cidr.js';

/**
 * Compiles `trigger.allowedIps` (CIDRs, IPv4 and IPv6; a bare address is one host) into a
 * matcher. Entries were validated when the workflow was saved; one that still fails to parse
 * matches nothing rather than opening the trigger.
 */
export function compileIpAllowlist(entries: readonly string[]): (ip: string) => boolean {
  const list = blockListOf(entries.map((entry) => parseCidr(entry, { allowBareAddress: true })).filter((cidr): cidr is Cidr => cidr !== null));
  return (ip: string) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped?.[1] !== undefined) return list.check(mapped[1], 'ipv4');
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  };
}
