import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCliConfig } from './cli-config.js';

describe('loadCliConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hookflow-profiles-'));
  const file = join(dir, 'profiles.yaml');
  writeFileSync(file, 'prod:\n  url: https://hooks.example.com/\n  token: hft_prod\nstaging:\n  url: https://staging.example.com\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to the local server, no token, colour only on a terminal without NO_COLOR', () => {
    expect(loadCliConfig({}, false)).toMatchObject({ url: 'http://127.0.0.1:8080', token: undefined, timeoutMs: 30_000, colour: false });
    expect(loadCliConfig({}, true).colour).toBe(true);
    expect(loadCliConfig({ NO_COLOR: '1' }, true).colour).toBe(false);
  });

  it('takes the server and token from a profile; HOOKFLOW_URL and HOOKFLOW_TOKEN win over it', () => {
    expect(loadCliConfig({ HOOKFLOW_PROFILE: 'prod', HOOKFLOW_PROFILES_FILE: file }, false)).toMatchObject({ url: 'https://hooks.example.com', token: 'hft_prod' });
    expect(loadCliConfig({ HOOKFLOW_PROFILE: 'prod', HOOKFLOW_PROFILES_FILE: file, HOOKFLOW_TOKEN: 'hft_env', HOOKFLOW_URL: 'http://127.0.0.1:9999' }, false)).toMatchObject({ url: 'http://127.0.0.1:9999', token: 'hft_env' });
    expect(loadCliConfig({ HOOKFLOW_PROFILE: 'staging', HOOKFLOW_PROFILES_FILE: file }, false)).toMatchObject({ url: 'https://staging.example.com', token: undefined });
  });

  it('finds the profiles file under XDG_CONFIG_HOME', () => {
    const home = mkdtempSync(join(tmpdir(), 'hookflow-xdg-'));
    try {
      mkdirSync(join(home, 'hookflow'));
      writeFileSync(join(home, 'hookflow', 'profiles.yaml'), 'local:\n  url: http://127.0.0.1:8082\n');
      expect(loadCliConfig({ HOOKFLOW_PROFILE: 'local', XDG_CONFIG_HOME: home }, false).url).toBe('http://127.0.0.1:8082');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('names what is wrong: a bad variable, an unknown profile, an unreadable file', () => {
    expect(() => loadCliConfig({ HOOKFLOW_URL: 'ftp://x', HOOKFLOW_CLI_TIMEOUT_MS: 'soon' }, false)).toThrow(/HOOKFLOW_URL[\s\S]*HOOKFLOW_CLI_TIMEOUT_MS/);
    expect(() => loadCliConfig({ HOOKFLOW_PROFILE: 'nope', HOOKFLOW_PROFILES_FILE: file }, false)).toThrow(/no such profile/);
    expect(() => loadCliConfig({ HOOKFLOW_PROFILE: 'prod', HOOKFLOW_PROFILES_FILE: join(dir, 'missing.yaml') }, false)).toThrow(/cannot read/);
  });
});
