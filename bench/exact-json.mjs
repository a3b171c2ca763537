// Cost of exact numbers (docs/numbers.md) where bodies are parsed and serialised (worker, API
// answers, templates): hookflow's exact JSON helpers against native JSON.parse/JSON.stringify,
// measured in the same run on the bench's ~1 KB order body, without and with an order id beyond
// 2^53 (the first takes the native fast path, the second lossless-json). Ingest is not here: it
// never parses JSON bodies (it scans and stores the text), so its rows in `npm run bench` are
// the ingest before/after. Numbers only, never an assertion.
import { parseExactJson, stringifyExactJson } from '../dist/util/exact-json.js';
import { ORDER_BODY } from './harness.mjs';

const BATCH = 200;
const BATCHES = Number(process.env.BENCH_EXACT_BATCHES ?? 300);
const BIG_BODY = ORDER_BODY.replace('"order_id":"ORD-12345"', '"order_id":820982911946154508');

/** Microseconds per call, p50 and p99 over batches of BATCH calls (after a warm-up). */
function measure(work) {
  for (let i = 0; i < BATCH * 20; i++) work();
  const perCall = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) work();
    perCall.push(Number(process.hrtime.bigint() - start) / 1000 / BATCH);
  }
  perCall.sort((a, b) => a - b);
  return { p50: perCall[Math.floor(BATCHES / 2)], p99: perCall[Math.floor(BATCHES * 0.99)] };
}

export function benchExactJson() {
  const nativeValue = JSON.parse(ORDER_BODY);
  const exactBig = parseExactJson(BIG_BODY);
  const rows = [
    ['JSON.parse (baseline)', measure(() => JSON.parse(ORDER_BODY))],
    ['parseExactJson, no big number', measure(() => parseExactJson(ORDER_BODY))],
    ['parseExactJson, order id > 2^53', measure(() => parseExactJson(BIG_BODY))],
    ['JSON.stringify (baseline)', measure(() => JSON.stringify(nativeValue))],
    ['stringifyExactJson, no big number', measure(() => stringifyExactJson(nativeValue))],
    ['stringifyExactJson, order id > 2^53', measure(() => stringifyExactJson(exactBig))],
  ];
  console.log(`\nexact JSON (${Buffer.byteLength(ORDER_BODY)} B order body; µs per call, p50/p99 over ${BATCHES} batches of ${BATCH}):`);
  for (const [name, r] of rows) {
    const base = name.startsWith('parse') || name.startsWith('JSON.parse') ? rows[0][1] : rows[3][1];
    console.log(`  ${name.padEnd(38)} p50 ${r.p50.toFixed(2).padStart(6)} µs   p99 ${r.p99.toFixed(2).padStart(6)} µs   ratio ${(r.p50 / base.p50).toFixed(2)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) benchExactJson();
