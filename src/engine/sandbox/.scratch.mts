import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-wasmfile-release-sync';
const mod = await newQuickJSWASMModuleFromVariant(variant);
function run(code: string, ms = 200) {
  const deadline = Date.now() + ms;
  const rt = mod.newRuntime();
  rt.setMemoryLimit(16 * 1024 * 1024);
  rt.setMaxStackSize(512 * 1024);
  let interrupted = false;
  rt.setInterruptHandler(() => { if (Date.now() > deadline) { interrupted = true; return true; } return false; });
  const ctx = rt.newContext();
  try {
    const fnCtor = ctx.getProp(ctx.global, 'Function');
    const codeH = ctx.newString(code);
    const f = ctx.callFunction(fnCtor, ctx.undefined, codeH);
    codeH.dispose(); fnCtor.dispose();
    if (f.error) { console.log('compile err', ctx.dump(f.error)); f.error.dispose(); return; }
    const r = ctx.callFunction(f.value, ctx.undefined);
    f.value.dispose();
    if (r.error) { const d = ctx.dump(r.error); console.log('err', interrupted, typeof d, JSON.stringify(d)?.slice(0,300), ctx.typeof(r.error)); r.error.dispose(); return; }
    console.log('ok', ctx.typeof(r.value));
    if (ctx.typeof(r.value) === 'object') { const st = ctx.getPromiseState(r.value); console.log('promise state', st.type); if (st.type==='fulfilled') { console.log(JSON.stringify(ctx.dump(st.value))?.slice(0,300)); } if (st.type==='rejected') { console.log(JSON.stringify(ctx.dump(st.error))); } console.log('pending', rt.hasPendingJob()); const e = rt.executePendingJobs(); console.log('exec', e.error ? 'err' : e.value); if (e.error) e.error.dispose(); }
    if (r.value.alive) r.value.dispose();
  } finally { ctx.dispose(); rt.dispose(); }
}
run('return 1');
run('return Object.keys(globalThis)');
run('return Object.getOwnPropertyNames(globalThis)');
run("return this.constructor.constructor('return process')()");
run("return require('fs')");
run("return import('fs')");
run("return typeof globalThis.process");
run("while(true){}");
run("let a=[]; while(true) a.push('x'.repeat(1e6))");
run("function f(n){return f(n+1)+1}; return f(0)");
run("return new Promise(()=>{})");
run("return (async()=>{await null; return 5})()");
run("return x y");
run("throw 42");
run("return typeof std + typeof os + typeof print + typeof scriptArgs");
