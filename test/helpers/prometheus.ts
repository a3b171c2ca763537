/** Prometheus text exposition as a map from series (name + labels, as printed) to value. */
export function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    series.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return series;
}

/** The series key of a metric with these labels, in the order prom-client prints them. */
export function seriesKey(name: string, labels: Record<string, string>): string {
  const inner = Object.entries(labels).map(([label, value]) => `${label}="${value}"`).join(',');
  return inner === '' ? name : `${name}{${inner}}`;
}

/** Fetches `/metrics` (with a bearer token when given) and parses it. */
export async function scrape(baseUrl: string, token?: string): Promise<Map<string, number>> {
  const response = await fetch(`${baseUrl}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** How much each series moved between two scrapes (series that did not move are left out). */
export function deltas(before: Map<string, number>, after: Map<string, number>, prefix: string): Map<string, number> {
  const moved = new Map<string, number>();
  for (const [key, value] of after) {
    if (!key.startsWith(prefix)) continue;
    const change = value - (before.get(key) ?? 0);
    if (change !== 0) moved.set(key, change);
  }
  return moved;
}
