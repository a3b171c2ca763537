/**
 * QuickJS WebAssembly modules, one per memory-limit bucket, loaded lazily and cached.
 *
 * Why buckets: in quickjs-emscripten 0.32.0 `runtime.setMemoryLimit()` only refuses a *single*
 * allocation larger than the limit — the running total it compares against does not grow for
 * this build (no `malloc_usable_size` under Emscripten; upstream issues
 * justjake/quickjs-emscripten#271 and #255), so a script can keep allocating 1 MB strings until
 * the module's 2 GiB linear memory is full. The release-sync build *imports* its
 * `WebAssembly.Memory`, so we hand it one with a `maximum`: growing past it fails, malloc returns
 * NULL and QuickJS throws its ordinary out-of-memory error. That ceiling is per module, so each
 * module serves one bucket of limits, and the caller must never have two runtimes alive in one
 * module at once (`runScript` is synchronous once it holds a module, so it never does).
 */

import releaseSyncImport from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, newVariant, type QuickJSWASMModule } from 'quickjs-emscripten-core';

// lib "ES2023" without "DOM" declares no WebAssembly types; this is the one constructor used.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory };

// The package's only `types` entry is a CommonJS .d.ts, so TypeScript (NodeNext) types the
// default import as the whole module, while Node loads the ESM build whose default *is* the
// variant. Accept either shape instead of casting.
const releaseSyncVariant = 'default' in releaseSyncImport ? releaseSyncImport.default : releaseSyncImport;

const MiB = 1024 * 1024;
const WASM_PAGE_BYTES = 64 * 1024;
/** The build's declared minimum memory (256 pages): 5 MiB C stack, ~90 KiB static data, ~11 MiB heap. */
const WASM_INITIAL_BYTES = 16 * MiB;
/** Room above a bucket for the C stack, static data, an empty runtime and allocator slack. */
const WASM_OVERHEAD_BYTES = 8 * MiB;
const SMALLEST_BUCKET_BYTES = 1 * MiB;
/** wasm32 tops out at 2 GiB here (the build's own maximum is 32768 pages). */
const LARGEST_BUCKET_BYTES = 1024 * MiB;
/** Modules kept warm; each holds on to its memory's high-water mark until dropped. */
const MAX_CACHED_MODULES = 4;

/** The largest `memoryLimitBytes` a script may ask for (1 GiB): its bucket must fit in wasm32. */
export const MAX_MEMORY_LIMIT_BYTES = LARGEST_BUCKET_BYTES;

/** A loaded module and the state `runScript` needs to judge what happened inside it. */
export interface SandboxModule {
  readonly quickjs: QuickJSWASMModule;
  /** The bucket (limit rounded up to a power of two), in bytes; the cache key. */
  readonly bucketBytes: number;
  /** Hard ceiling of the module's linear memory, in bytes. */
  readonly memoryCeilingBytes: number;
  /** Set when the linear memory refused to grow since it was last cleared (the ceiling was hit). */
  growRefused: boolean;
  /** Set by `discardModule`: the instance may be corrupt and must not start another run. */
  broken: boolean;
}

interface CacheEntry {
  readonly pending: Promise<SandboxModule>;
  loaded?: SandboxModule;
}

const cache = new Map<number, CacheEntry>();

/** Limits round up to a power of two so a process holds at most ~11 distinct buckets. */
function bucketFor(memoryLimitBytes: number): number {
  const rounded = 2 ** Math.ceil(Math.log2(Math.max(memoryLimitBytes, 1)));
  return Math.min(Math.max(rounded, SMALLEST_BUCKET_BYTES), LARGEST_BUCKET_BYTES);
}

async function loadModule(bucketBytes: number): Promise<SandboxModule> {
  const memoryCeilingBytes = Math.max(WASM_INITIAL_BYTES, bucketBytes + WASM_OVERHEAD_BYTES);
  const memory = new WebAssembly.Memory({
    initial: WASM_INITIAL_BYTES / WASM_PAGE_BYTES,
    maximum: memoryCeilingBytes / WASM_PAGE_BYTES,
  });
  const quickjs = await newQuickJSWASMModuleFromVariant(newVariant(releaseSyncVariant, { wasmMemory: memory }));
  const sandboxModule: SandboxModule = { quickjs, bucketBytes, memoryCeilingBytes, growRefused: false, broken: false };
  // Emscripten's heap resize calls `memory.grow()` and treats a throw as "no more memory";
  // wrapping it is the only way to learn that the ceiling, not the script, ended a run.
  const grow = memory.grow.bind(memory);
  memory.grow = (delta: number): number => {
    try {
      return grow(delta);
    } catch (error) {
      sandboxModule.growRefused = true;
      throw error;
    }
  };
  return sandboxModule;
}

/**
 * The module for `memoryLimitBytes`, loading it on first use (~30 ms). A failed load is not
 * cached, so the next call tries again.
 */
export function acquireModule(memoryLimitBytes: number): Promise<SandboxModule> {
  const bucket = bucketFor(memoryLimitBytes);
  let entry = cache.get(bucket);
  if (entry === undefined) {
    const created: CacheEntry = { pending: loadModule(bucket) };
    created.pending.then(
      (loaded) => {
        created.loaded = loaded;
      },
      () => {
        if (cache.get(bucket) === created) cache.delete(bucket);
      },
    );
    entry = created;
  }
  // Re-inserting keeps the Map in least-recently-used order for eviction.
  cache.delete(bucket);
  cache.set(bucket, entry);
  for (const key of cache.keys()) {
    if (cache.size <= MAX_CACHED_MODULES) break;
    cache.delete(key);
  }
  return entry.pending;
}

/**
 * Retires a module whose WebAssembly instance may be corrupt (an Emscripten abort, a host stack
 * overflow inside WASM, a failed dispose): the next `acquireModule` for its bucket loads afresh.
 */
export function discardModule(sandboxModule: SandboxModule): void {
  sandboxModule.broken = true;
  const entry = cache.get(sandboxModule.bucketBytes);
  if (entry?.loaded === sandboxModule) cache.delete(sandboxModule.bucketBytes);
}
