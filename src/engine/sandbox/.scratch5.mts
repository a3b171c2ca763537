import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
const mod = await newQuickJSWASMModuleFromVariant(variant);
const mb = Number(process.argv[2]);
const n = Number(process.argv[3]);
const hostfn = process.argv[4] === 'host';
const rt = mod.newRuntime();
rt.setMemoryLimit(mb * 1024 * 1024);
const ctx = rt.newContext();
if (hostfn) { const log = ctx.newFunction('log', () => {}); ctx.setProp(ctx.global, 'log', log); log.dispose(); }
const t = Date.now();
const r = ctx.evalCode(`globalThis.a=[]; for (let i=0;i<${n};i++) { ${hostfn ? 'log();' : ''} a.push('x'.repeat(1e6)) }; a.length`);
console.log('returned after', Date.now() - t, r.error ? 'err ' + JSON.stringify(ctx.dump(r.error)).slice(0,80) : 'val ' + ctx.dump(r.value));
if (r.value) r.value.dispose();
console.log(rt.dumpMemoryUsage().toString());
console.log('rss MB', Math.round(process.memoryUsage().rss / 1e6));
ctx.dispose(); rt.dispose();
