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
    // IPv4-mapped: reaches a public IPv4 host, never a refused one
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
    // NAT64 64:ff9b::/96 (DNS64 networks): a public IPv4 host only
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::169.254.169.254', false],
    ['64:ff9b::808:808', true],
    // 6to4 2002::/16 and Teredo 2001::/32: refused as their own ranges, whatever they embed
    ['2002:7f00:1::', false],
    ['2002:a9fe:a9fe::1', false],
    ['2002:c0a8:101::1', false],
    ['2002:808:808::1', false],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', false],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', false],
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
      reason: '::ffff:7f00:1 is in ::ffff:0:0/96 (IPv4-mapped), which embeds 127.0.0.1 (loopback)',
    });
    expect(policy.check('2001:0:4136:e378:8000:63bf:80ff:fffe')).toEqual({
      allowed: false,
      reason: '2001:0:4136:e378:8000:63bf:80ff:fffe is in 2001::/32 (Teredo), which embeds 127.0.0.1 (loopback)',
    });
    expect(policy.check('8.8.8.8')).toEqual({ allowed: true });
  });

  it('defaults to an empty allowlist', () => {
    expect(createEgressPolicy().isAllowed('127.0.0.1')).toBe(false);
  });
});

const EXPECTED_ENTRY = 'expected a CIDR or address, optionally with :PORT or :FROM-TO (IPv6 in brackets), such as 127.0.0.0/8, 127.0.0.1:11434, ::1/128 or [::1]:8000-8100';

describe('createEgressPolicy with an allowlist', () => {
  const policy = createEgressPolicy({ allowlist: ['127.0.0.0/8', '::1/128'] });

  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['::1', true],
    // An IPv4 entry never opens the IPv6 forms that embed its addresses.
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['64:ff9b::7f00:1', false],
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

  it.each(['10.0.0.0/33', '::/129', 'abc/8', '10.0.0.0/-1', '10.0.0.0/8/8', '010.0.0.0/8', '', '/8'])(
    'refuses the bad entry %j at creation',
    (entry) => {
      expect(() => createEgressPolicy({ allowlist: ['127.0.0.0/8', entry] })).toThrow(
        expect.objectContaining({
          code: 'HOOKFLOW_ERR_CONFIG',
          message: `Invalid egress allowlist entry ${JSON.stringify(entry)}: ${EXPECTED_ENTRY}`,
        }),
      );
    },
  );
});

describe('an IPv4 entry never opens the IPv6 forms embedding its addresses', () => {
  // Every spelling reaches 127.0.0.1 (or 10.1.2.3) through the kernel, a NAT64 gateway, a 6to4
  // relay or a Teredo server: Linux routes the non-mapped ones through the default gateway.
  const loopbackForms = [
    '::ffff:127.0.0.1', // IPv4-mapped, dotted
    '::ffff:7f00:1', // IPv4-mapped, hex
    '0:0:0:0:0:ffff:7f00:1', // IPv4-mapped, uncompressed
    '::FFFF:7F00:0001', // IPv4-mapped, upper case, padded
    '::ffff:0:7f00:1', // IPv4-translated
    '::ffff:0:127.0.0.1', // IPv4-translated, dotted
    '::127.0.0.1', // IPv4-compatible
    '::7f00:1', // IPv4-compatible, hex
    '64:ff9b::7f00:1', // NAT64 well-known prefix
    '64:ff9b::127.0.0.1', // NAT64, dotted
    '64:ff9b:0:0:0:0:7f00:1', // NAT64, uncompressed
    '64:ff9b:1::7f00:1', // local-use NAT64
    '64:ff9b:1:7f00:1::', // local-use NAT64, /48 prefix placement
    '2002:7f00:1::', // 6to4
    '2002:7f00:1:1234::1', // 6to4, any host of the /48
    '2002:7f00:0001:ffff:ffff:ffff:ffff:ffff', // 6to4, the last address of the /48
    '2001:0:4136:e378:8000:63bf:80ff:fffe', // Teredo, client 127.0.0.1
    '::ffff:7f00:1%eth0', // with a zone
  ];
  const policy = createEgressPolicy({ allowlist: ['127.0.0.1/32', '10.0.0.0/8'] });

  it.each(loopbackForms)('127.0.0.1/32 allowed: %s refused', (address) => {
    expect(policy.check(address, 80).allowed).toBe(false);
    expect(policy.isAllowed(address)).toBe(false);
  });

  it.each(['::ffff:10.1.2.3', '::ffff:a01:203', '::ffff:0:a01:203', '::10.1.2.3', '64:ff9b::a01:203', '2002:a01:203::1', '2001:0:4136:e378:8000:63bf:f5fe:fdfc'])(
    '10.0.0.0/8 allowed: %s refused',
    (address) => {
      expect(policy.isAllowed(address, 443)).toBe(false);
    },
  );

  it('while the IPv4 addresses themselves are open', () => {
    expect(policy.isAllowed('127.0.0.1', 80)).toBe(true);
    expect(policy.isAllowed('10.1.2.3', 443)).toBe(true);
  });

  it('names the IPv6 range and what it embeds in the reason', () => {
    expect(policy.check('64:ff9b::7f00:1', 80)).toEqual({ allowed: false, reason: '64:ff9b::7f00:1 is in 64:ff9b::/96 (NAT64), which embeds 127.0.0.1 (loopback)' });
    expect(policy.check('2002:a01:203::1', 80)).toEqual({ allowed: false, reason: '2002:a01:203::1 is in 2002::/16 (6to4), which embeds 10.1.2.3 (private)' });
  });

  it('an IPv6 entry naming such a range opens it, explicitly', () => {
    const nat64 = createEgressPolicy({ allowlist: ['64:ff9b::/96'] });
    expect(nat64.isAllowed('64:ff9b::7f00:1', 80)).toBe(true);
    expect(nat64.isAllowed('::ffff:7f00:1', 80)).toBe(false);
  });
});

describe('port-scoped allowlist entries', () => {
  const policy = createEgressPolicy({ allowlist: ['127.0.0.1:11434', '[::1]:8000-8100', '10.0.0.0/8:443', '[fd00::/8]:80'] });

  it.each<[string, number, boolean]>([
    ['127.0.0.1', 11434, true],
    ['127.0.0.1', 11435, false],
    ['127.0.0.1', 11433, false],
    ['127.0.0.1', 5432, false],
    ['127.0.0.2', 11434, false],
    ['::1', 8000, true],
    ['::1', 8100, true],
    ['::1', 8050, true],
    ['::1', 7999, false],
    ['::1', 8101, false],
    ['10.9.8.7', 443, true],
    ['10.9.8.7', 80, false],
    ['fd12::1', 80, true],
    ['fd12::1', 443, false],
    ['::ffff:127.0.0.1', 11434, false],
    ['8.8.8.8', 25, true],
  ])('%s port %i → allowed %s', (address, port, expected) => {
    expect(policy.isAllowed(address, port)).toBe(expected);
  });

  it('without a port, only entries for every port count', () => {
    expect(policy.isAllowed('127.0.0.1')).toBe(false);
    expect(createEgressPolicy({ allowlist: ['127.0.0.1'] }).isAllowed('127.0.0.1')).toBe(true);
  });

  it('says when the address is open on other ports', () => {
    expect(policy.check('127.0.0.1', 6379)).toEqual({ allowed: false, reason: '127.0.0.1 is in 127.0.0.0/8 (loopback) (the allowlist opens it on other ports than 6379)' });
  });

  it.each(['127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:9-8', '127.0.0.1:', '127.0.0.1:http', '[127.0.0.1]:80', 'fd00::/8:443', '[::1]:', '[::1'])('refuses %j at creation', (entry) => {
    expect(() => createEgressPolicy({ allowlist: [entry] })).toThrow(expect.objectContaining({ code: 'HOOKFLOW_ERR_CONFIG' }));
  });
});

describe("hookflow's own listen address", () => {
  it('is refused on its port even when a range includes it', () => {
    const policy = createEgressPolicy({ allowlist: ['127.0.0.0/8', '::1/128'], ownEndpoints: () => [{ address: '127.0.0.1', port: 8080 }] });
    expect(policy.check('127.0.0.1', 8080)).toEqual({ allowed: false, reason: "127.0.0.1 port 8080 is hookflow's own listen address" });
    expect(policy.isAllowed('127.0.0.1', 8081)).toBe(true);
    expect(policy.isAllowed('127.0.0.2', 8080)).toBe(true);
  });

  it('a wildcard listener is refused on every local address, public ones included', () => {
    const policy = createEgressPolicy({ allowlist: ['0.0.0.0/0', '::/0'], ownEndpoints: () => [{ address: '0.0.0.0', port: 3000 }] });
    for (const address of ['127.0.0.1', '127.9.9.9', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1']) {
      expect(`${address} ${policy.isAllowed(address, 3000)}`).toBe(`${address} false`);
    }
    expect(policy.isAllowed('127.0.0.1', 3001)).toBe(true);
    expect(policy.isAllowed('8.8.8.8', 3000)).toBe(true);
  });

  it('is read at each check, so a port chosen at listen time counts', () => {
    const endpoints: { address: string; port: number }[] = [];
    const policy = createEgressPolicy({ allowlist: ['127.0.0.0/8'], ownEndpoints: () => endpoints });
    expect(policy.isAllowed('127.0.0.1', 41234)).toBe(true);
    endpoints.push({ address: '127.0.0.1', port: 41234 });
    expect(policy.isAllowed('127.0.0.1', 41234)).toBe(false);
  });
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
