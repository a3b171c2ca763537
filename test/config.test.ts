import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV_VARS, loadServerConfig } from '../src/config/server-config.js';

describe('server configuration', () => {
  it('has a README row for every env var it reads', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    const missing = CONFIG_ENV_VARS.filter((name) => !readme.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it('applies the documented defaults', () => {
    const config = loadServerConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './data', sqlite: { synchronous: 'FULL' }, ingress: { maxBodyBytes: 1_048_576 } });
    expect(Object.isFrozen(config.ingress)).toBe(true);
  });

  it('stops with every bad value listed, never a silent fallback', () => {
    expect(() => loadServerConfig({ PORT: 'eighty', HOOKFLOW_SQLITE_SYNCHRONOUS: 'OFF', HOOKFLOW_MAX_BODY_BYTES: '-1' })).toThrow(
      /PORT[\s\S]*HOOKFLOW_SQLITE_SYNCHRONOUS[\s\S]*HOOKFLOW_MAX_BODY_BYTES/,
    );
    expect(() => loadServerConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('parses lists and flags', () => {
    const config = loadServerConfig({ HOOKFLOW_EGRESS_ALLOWLIST: '127.0.0.0/8, ::1/128', HOOKFLOW_TRUST_PROXY: 'true' });
    expect(config.egressAllowlist).toEqual(['127.0.0.0/8', '::1/128']);
    expect(config.ingress.trustProxy).toBe(1);
  });

  it('checks the master key, public URL and egress allowlist with the rest, naming each', () => {
    expect(() => loadServerConfig({ PORT: 'abc', DATABASE_URL: 'mysql://x', HOOKFLOW_MASTER_KEY: 'abc', HOOKFLOW_PUBLIC_URL: 'hooks.example.com:443', HOOKFLOW_EGRESS_ALLOWLIST: '10.0.0.0/33' })).toThrow(
      /PORT[\s\S]*DATABASE_URL: must start with postgres:\/\/[\s\S]*HOOKFLOW_MASTER_KEY: must be base64 of exactly 32 bytes[\s\S]*HOOKFLOW_PUBLIC_URL: must start with http:\/\/ or https:\/\/[\s\S]*HOOKFLOW_EGRESS_ALLOWLIST: every entry must be a CIDR/,
    );
    const good = loadServerConfig({ HOOKFLOW_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), HOOKFLOW_PUBLIC_URL: 'https://hooks.example.com/', HOOKFLOW_EGRESS_ALLOWLIST: '10.0.0.0/8' });
    expect([good.publicUrl, good.egressAllowlist]).toEqual(['https://hooks.example.com', ['10.0.0.0/8']]);
  });

  it('reads HOOKFLOW_TRUST_PROXY as no proxy, a hop count or the proxies\' addresses', () => {
    const trust = (value: string) => loadServerConfig({ HOOKFLOW_TRUST_PROXY: value }).ingress.trustProxy;
    expect([trust('false'), trust('0'), trust('true'), trust('2'), trust('10.0.0.1, 192.168.0.0/16')]).toEqual([false, false, 1, 2, ['10.0.0.1', '192.168.0.0/16']]);
    expect(loadServerConfig({}).ingress.trustProxy).toBe(false);
    expect(() => loadServerConfig({ HOOKFLOW_TRUST_PROXY: 'everyone' })).toThrow(/HOOKFLOW_TRUST_PROXY/);
  });
});
