import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TriggerRegistry } from '../src/ingress/trigger-registry.js';
import { masterKeyFromBytes, SecretCipher } from '../src/secrets/cipher.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store, WorkflowRecord } from '../src/store/store.js';

/** The trigger cache over the real SQLite store, with one read held open to order events exactly. */
let dataDir: string;
let store: SqliteStore;
const cipher = new SecretCipher(masterKeyFromBytes(Buffer.alloc(32, 3)));
const NOW = Date.UTC(2026, 0, 1);

function workflow(enabled: boolean, version: number): WorkflowRecord {
  return { workspaceId: 'ws', id: 'wf', version, name: 'wf', enabled, definition: { trigger: { type: 'webhook' }, steps: [] }, createdAt: NOW, updatedAt: NOW };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'hookflow-registry-'));
  store = await SqliteStore.open({ dataDir, synchronous: 'FULL', busyTimeoutMs: 5000, maxBatch: 100, maxPending: 100, writeTimeoutMs: 5000 });
  await store.createWorkspace({ id: 'ws', name: 'ws', createdAt: NOW });
  await store.createWorkflow(workflow(true, 1), []);
});
afterAll(async () => {
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('TriggerRegistry', () => {
  it('does not keep a read that began before a change on this node', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The real store, with the first workflow read held until the change below is committed.
    let holdNextRead = true;
    const gated = new Proxy(store, {
      get(target, name, receiver) {
        if (name !== 'getWorkflow') return Reflect.get(target, name, receiver);
        return async (...args: Parameters<Store['getWorkflow']>) => {
          const read = await target.getWorkflow(...args);
          if (holdNextRead) {
            holdNextRead = false;
            await held;
          }
          return read;
        };
      },
    });
    const registry = new TriggerRegistry({ store: gated, cipher, ttlMs: 60_000, maxEntries: 10 });

    const before = registry.find('ws', 'wf', NOW);
    await store.updateWorkflow(workflow(false, 2), [], []);
    registry.invalidate('ws', 'wf');
    release();
    // The call that arrived before the change may see the old state...
    expect((await before)?.enabled).toBe(true);
    // ...but the next one reads again and sees the workflow disabled.
    expect((await registry.find('ws', 'wf', NOW))?.enabled).toBe(false);
  });

  it('answers null for ids no workflow can have, without asking the store', async () => {
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, name, receiver) {
        if (name === 'getWorkflow') reads++;
        return Reflect.get(target, name, receiver);
      },
    });
    const registry = new TriggerRegistry({ store: counting, cipher, ttlMs: 60_000, maxEntries: 10 });
    for (const [ws, wf] of [['ws\u0000', 'wf'], ['ws', 'w f'], ['', 'wf'], ['ws', 'x'.repeat(65)]]) expect(await registry.find(ws!, wf!, NOW)).toBeNull();
    expect(reads).toBe(0);
    expect((await registry.find('ws', 'wf', NOW))?.workflowId).toBe('wf');
  });
});
