import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { HookflowError } from '../errors/catalogue.js';

/** Parses CIDRs (IPv4 and IPv6; a bare address means a single host) into a matcher. */
export function compileIpAllowlist(cidrs: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefixText] = cidr.trim().split('/');
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const prefix = prefixText === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefixText);
    if (family === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 'ipv4' ? 32 : 128)) {
      throw new HookflowError('HOOKFLOW_ERR_VALIDATION', `Invalid CIDR "${cidr}"`);
    }
    list.addSubnet(address, prefix, family);
  }
  return (ip: string) => {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (mapped?.[1] !== undefined) return list.check(mapped[1], 'ipv4');
    return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  };
}
