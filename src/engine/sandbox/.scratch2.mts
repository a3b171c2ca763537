import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
const mod = await newQuickJSWASMModuleFromVariant(variant);
const mode = process.argv[2];
const code = process.argv[3] ?? "let a=[]; while(true) a.push('x'.repeat(1e6))";
const rt = mod.newRuntime();
rt.setMemoryLimit(16 * 1024 * 1024);
rt.setMaxStackSize(512 * 1024);
const ctx = rt.newContext();
const r = ctx.evalCode(`(function(){${code}})()`);
if (r.error) {
  if (mode === 'dump') console.log(ctx.dump(r.error));
  if (mode === 'props') { const n = ctx.getProp(r.error, 'name'); const m = ctx.getProp(r.error, 'message'); console.log(ctx.getString(n), ctx.getString(m)); n.dispose(); m.dispose(); }
  if (mode === 'gcfirst') { rt.setMemoryLimit(-1); console.log(ctx.dump(r.error)); }
  r.error.dispose();
} else { console.log('value', ctx.typeof(r.value)); r.value.dispose(); }
ctx.dispose(); rt.dispose();
console.log('disposed ok', mode);
