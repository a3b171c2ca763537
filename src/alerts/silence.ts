/**
 * The silence expectation: how long a workflow may go without a real event before its
 * `silence` rule fires. Pure, so it is tested on timestamps as data.
 */

/** Latest events a learned expectation looks at. */
export const SILENCE_HISTORY_EVENTS = 50;
/** A learned expectation is this many times the longest gap between the latest events. */
export const SILENCE_GAP_FACTOR = 3;

export interface SilenceParams {
  /** Configured expectation, minutes; absent: learned from the events. */
  silenceMinutes?: number | undefined;
  /** Fewer events than this: the workflow does not "normally receive traffic", no expectation. */
  minEvents: number;
  /** Floor of a learned expectation, minutes (a workflow called every second still gets this long). */
  minSilenceMinutes: number;
}

/**
 * The silence, ms, after which the rule fires, given the workflow's latest event times (newest
 * first); null when there are fewer than `minEvents` of them (never had traffic: never fires).
 * Learned: SILENCE_GAP_FACTOR × the longest gap between consecutive events, at least
 * `minSilenceMinutes`.
 */
export function expectedSilenceMs(times: readonly number[], params: SilenceParams): number | null {
  if (times.length < params.minEvents) return null;
  if (params.silenceMinutes !== undefined) return params.silenceMinutes * 60_000;
  let longestGap = 0;
  for (let i = 1; i < times.length; i++) longestGap = Math.max(longestGap, (times[i - 1] as number) - (times[i] as number));
  return Math.max(params.minSilenceMinutes * 60_000, SILENCE_GAP_FACTOR * longestGap);
}
