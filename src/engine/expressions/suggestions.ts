import { distance } from 'fastest-levenshtein';

/**
 * The candidates closest to a misspelt `name`, best first, at most three: those within an edit
 * distance of a third of the name's length (at least 2), and any that differ only in case.
 */
export function suggestionsFor(name: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const lower = name.toLowerCase();
  const scored: { candidate: string; score: number }[] = [];
  for (const candidate of new Set(candidates)) {
    if (candidate === name) continue;
    const score = candidate.toLowerCase() === lower ? 0 : distance(name, candidate);
    if (score <= limit) scored.push({ candidate, score });
  }
  return scored.sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate)).slice(0, 3).map((entry) => entry.candidate);
}

/** `; did you mean "a" or "b"?` — or nothing when there is no close candidate. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const close = suggestionsFor(name, candidates).map((candidate) => `"${candidate}"`);
  if (close.length === 0) return '';
  const listed = close.length === 1 ? close[0] : `${close.slice(0, -1).join(', ')} or ${close.at(-1) ?? ''}`;
  return `; did you mean ${listed}?`;
}
