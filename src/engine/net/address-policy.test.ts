import { describe, expect, it } from 'vitest';
import { createEgressPolicy, normalizeHost } from './address-policy.js';

// Addresses are data here: nothing in this file opens a socket.

describe('createEgressPolicy without an allowlist', () => {
  const policy = createEgressPolicy({ allowlist: [] });

  it.each<[string, boolean]>([
    // 0.0.0.0/8
    ['0.0.0.0', false],
    ['0.255.255.255', false],
    // 10/8
    ['10.0.0.1', false],
    ['10.255.255.255', false],
    ['11.0.0.1', true],
    // 100.64/10
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['100.63.255.255', true],
    ['100.128.0.0', true],
    // 127/8
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    // 169.254/16 (cloud metadata lives here)
    ['169.254.169.254', false],
    ['169.254.0.1', false],
    ['169.255.0.1', true],
    // 172.16/12
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['172.15.255.255', true],
    ['172.32.0.0', true],
    // 192.168/16
    ['192.168.0.1', false],
    ['192.168.255.255', false],
    ['192.169.0.1', true],
    // 198.18/15
    ['198.18.0.1', false],
    ['198.19.255.255', false],
    ['198.20.0.0', true],
    // 192.0.0/24 and the documentation ranges
    ['192.0.0.170', false],
    ['192.0.2.1', false],
    ['198.51.100.1', false],
    ['203.0.113.1', false],
    // 224/4 multicast, 240/4 reserved and broadcast
    ['224.0.0.1', false],
    ['239.255.255.255', false],
    ['240.0.0.1', false],
    ['255.255.255.255', false],
    ['223.255.255.255', true],
    // public IPv4
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['93.184.216.34', true],
    // IPv6 special addresses
    ['::', false],
    ['::1', false],
    ['0:0:0:0:0:0:0:1', false],
    ['::2', false],
    ['fc00::1', false],
    ['fd12:3456:789a::1', false],
    ['fe80::1', false],
    ['fe80::1%eth0', false],
    ['febf:ffff::1', false],
    ['ff02::1', false],
    ['2001:db8::1', false],
    ['100::1', false],
    ['64:ff9b:1::a', false],
    // IPv4-mapped, judged by the embedded IPv4
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::FFFF:7F00:0001', false],
    ['0:0:0:0:0:ffff:7f00:1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:a9fe:a9fe', false],
    ['::ffff:10.1.2.3', false],
    ['::ffff:8.8.8.8', true],
    ['::ffff:808:808', true],
    // IPv4-translated ::ffff:0:0:0/96
    ['::ffff:0:7f00:1', false],
    // NAT64 64:ff9b::/96, judged by the embedded IPv4
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::169.254.169.254', false],
    ['64:ff9b::808:808', true],
    // 6to4 2002::/16, judged by the embedded IPv4
    ['2002:7f00:1::', false],
    ['2002:a9fe:a9fe::1', false],
    ['2002:c0a8:101::1', false],
    ['2002:808:808::1', true],
    // IPv4-compatible (deprecated)
    ['::127.0.0.1', false],
    ['::8.8.8.8', false],
    // public IPv6
    ['2606:4700:4700::1111', true],
    ['2a00:1450:4001:81c::200e', true],
    // not addresses at all
    ['localhost', false],
    ['example.com', false],
    ['[::1]', false],
    ['127.1', false],
    ['', false],
  ])('%s → allowed %s', (address, expected) => {
    expect(policy.isAllowed(address)).toBe(expected);
    expect(policy.check(address).allowed).toBe(expected);
  });

  it('names the range and the embedded address in the reason', () => {
    expect(policy.check('169.254.169.254')).toEqual({
      allowed: false,
      reason: '169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata)',
    });
    expect(policy.check('::ffff:7f00:1')).toEqual({
      allowed: false,
      reason: '::ffff:7f00:1 embeds 127.0.0.1, which is in 127.0.0.0/8 (loopback)',
    });
    expect(policy.check('8.8.8.8')).toEqual({ allowed: true });
  });

  it('defaults to an empty allowlist', () => {
    expect(createEgressPolicy().isAllowed('127.0.0.1')).toBe(false);
  });
});

const EXPECTED_CIDR = 'expected a CIDR such as 127.0.0.0/8 or ::1/128';

describe('createEgressPolicy with an allowlist', () => {
  const policy = createEgressPolicy({ allowlist: ['127.0.0.0/8', '::1/128'] });

  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['64:ff9b::7f00:1', true],
    ['::', false],
    ['::2', false],
    ['10.0.0.1', false],
    ['169.254.169.254', false],
    ['::ffff:169.254.169.254', false],
    ['fe80::1', false],
    ['8.8.8.8', true],
  ])('%s → allowed %s', (address, expected) => {
    expect(policy.isAllowed(address)).toBe(expected);
  });

  it('opens only the listed family', () => {
    const v4Only = createEgressPolicy({ allowlist: ['127.0.0.0/8'] });
    expect(v4Only.isAllowed('127.0.0.1')).toBe(true);
    expect(v4Only.isAllowed('::1')).toBe(false);
    const v6Only = createEgressPolicy({ allowlist: ['fd00::/8'] });
    expect(v6Only.isAllowed('fd00::1')).toBe(true);
    expect(v6Only.isAllowed('fc00::1')).toBe(false);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '::/129', 'abc/8', '10.0.0.0/-1', '10.0.0.0/8/8', '010.0.0.0/8', '', '/8'])(
    'refuses the bad CIDR %j at creation',
    (entry) => {
      expect(() => createEgressPolicy({ allowlist: ['127.0.0.0/8', entry] })).toThrow(
        expect.objectContaining({
          code: 'HOOKFLOW_ERR_CONFIG',
          message: `Invalid egress allowlist entry ${JSON.stringify(entry)}: ${EXPECTED_CIDR}`,
        }),
      );
    },
  );
});

describe('normalizeHost', () => {
  it.each<[string, string]>([
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0xa9fea9fe', '169.254.169.254'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[0:0:0:0:0:0:0:1]', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['Example.COM', 'example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });

  it('agrees with the URL parser a browser uses', () => {
    expect(new URL('http://0x7f000001/').hostname).toBe('127.0.0.1');
  });

  it('feeds the classifier: every spelling of loopback is refused', () => {
    const policy = createEgressPolicy();
    for (const spelling of ['127.1', '0x7f000001', '2130706433', '0177.0.0.1', '[::1]', '[::ffff:7f00:1]']) {
      expect(policy.isAllowed(normalizeHost(spelling))).toBe(false);
    }
  });

  it.each(['', 'a/b', 'a:80', '[::1]:80', 'user@host', 'a b', '1.2.3.256', '[::1', 'fe80::1%eth0'])(
    'refuses %j, which is not a bare host',
    (input) => {
      expect(() => normalizeHost(input)).toThrow(expect.objectContaining({ code: 'HOOKFLOW_ERR_EGRESS_REFUSED' }));
    },
  );
});
