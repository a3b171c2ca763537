/**
 * The alert rule kinds and their parameters with the server's defaults (docs/observability.md,
 * "Built-in alerts"; src/alerts/alert-rules.ts). An optional parameter without a default is
 * left out when its field is empty.
 */
export interface ParamField { name: string; label: string; fallback?: number; step?: number; hint?: string }

export const KINDS: Record<string, { label: string; workflowOnly?: boolean; params: ParamField[] }> = {
  run_failure_rate: {
    label: 'Run failure rate',
    params: [
      { name: 'windowMinutes', label: 'Window (minutes)', fallback: 15 },
      { name: 'threshold', label: 'Threshold (0–1 of finished runs)', fallback: 0.2, step: 0.01 },
      { name: 'minRuns', label: 'At least this many runs', fallback: 5 },
    ],
  },
  dead_letters: {
    label: 'Dead letters',
    params: [{ name: 'windowMinutes', label: 'Window (minutes)', fallback: 10 }, { name: 'threshold', label: 'Failed runs', fallback: 1 }],
  },
  invalid_auth: {
    label: 'Invalid key or signature',
    params: [{ name: 'windowMinutes', label: 'Window (minutes)', fallback: 5 }, { name: 'threshold', label: 'Refused calls', fallback: 20 }],
  },
  rate_limited: {
    label: 'Rate limited',
    params: [{ name: 'windowMinutes', label: 'Window (minutes)', fallback: 5 }, { name: 'threshold', label: 'Calls answered 429', fallback: 50 }],
  },
  queue_lag: {
    label: 'Queue lag',
    params: [{ name: 'thresholdSeconds', label: 'Oldest due run waiting (seconds)', fallback: 60 }],
  },
  silence: {
    label: 'Silence',
    workflowOnly: true,
    params: [
      { name: 'silenceMinutes', label: 'Silence (minutes)', hint: 'empty: learned from the traffic' },
      { name: 'minEvents', label: 'Events needed first', fallback: 10 },
      { name: 'minSilenceMinutes', label: 'Learned silence at least (minutes)', fallback: 5 },
    ],
  },
};

/** The form's text for each parameter of `kind`: the rule's values, else the defaults. */
export function paramTexts(kind: string, params: Record<string, unknown> = {}): Record<string, string> {
  return Object.fromEntries((KINDS[kind]?.params ?? []).map((p) => {
    const value = params[p.name] ?? p.fallback;
    return [p.name, value === undefined ? '' : String(value)];
  }));
}

/** The params object for the API from the form's texts (empty optional fields left out). */
export function paramsFromTexts(kind: string, texts: Record<string, string>): Record<string, number> {
  const params: Record<string, number> = {};
  for (const p of KINDS[kind]?.params ?? []) {
    const text = (texts[p.name] ?? '').trim();
    if (text !== '') params[p.name] = Number(text);
  }
  return params;
}

/** A rule's params in one line: `windowMinutes 15 · threshold 0.2`. */
export function paramsLine(params: Record<string, unknown>): string {
  return Object.entries(params).map(([name, value]) => `${name} ${String(value)}`).join(' · ');
}
