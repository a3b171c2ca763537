// A probe in a process of its own (the load generator's busy event loop would otherwise be
// measured too): GETs each URL on a fresh connection every 50 ms until SIGTERM, then prints
// {url: [ms, …]} as one JSON line. A probe that fails or takes over 30 s counts as 30,000 ms.
import { request } from 'node:http';

const urls = process.argv.slice(2);
const seen = Object.fromEntries(urls.map((url) => [url, []]));
let running = true;
process.on('SIGTERM', () => {
  running = false;
});

function probe(url) {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : 30_000));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(30_000));
    req.end();
  });
}

while (running) {
  const results = await Promise.all(urls.map(probe));
  results.forEach((ms, i) => seen[urls[i]].push(ms));
  await new Promise((resolve) => setTimeout(resolve, 50));
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
