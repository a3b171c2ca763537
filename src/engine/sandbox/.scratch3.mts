import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
const mod = await newQuickJSWASMModuleFromVariant(variant);
const useFn = process.argv[2] === 'fn';
const code = process.argv[3] ?? "let a=[]; while(true) a.push('x'.repeat(1e6))";
for (const mb of [4, 8, 16, 17, 32, 64]) {
  const rt = mod.newRuntime();
  rt.setMemoryLimit(mb * 1024 * 1024);
  rt.setMaxStackSize(512 * 1024); const dl = Date.now() + 2000; let ints = 0; rt.setInterruptHandler(() => { ints++; return Date.now() > dl; });
  const ctx = rt.newContext();
  let r;
  if (useFn) {
    const F = ctx.getProp(ctx.global, 'Function'); const c = ctx.newString(code);
    const f = ctx.callFunction(F, ctx.undefined, c); F.dispose(); c.dispose();
    r = ctx.callFunction(f.value!, ctx.undefined); f.value!.dispose();
  } else r = ctx.evalCode(`(function(){${code}})()`);
  if (r.error) { const m = ctx.getProp(r.error, 'message'); console.log(ctx.typeof(m) === 'string' ? ctx.getString(m) : ctx.typeof(m)); m.dispose(); r.error.dispose(); } else r.value.dispose();
  ctx.dispose();
  try { rt.dispose(); console.log(mb, 'ok', ints, r.error ? 'err' : 'val'); } catch (e) { console.log(mb, 'ABORT', String(e).slice(0, 120)); break; }
}
