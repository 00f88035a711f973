/**
 * When a worker holding runs claimed ahead claims again: after this share
 * of the lead (prefetch) is used. The lead left should cover a claim's
 * round trips at the runs' pace; when the whole lead covers two or more of
 * them, the claim waits until only one is left. When it cannot cover even
 * one (runs of a millisecond against a claim of ten), slots idle during
 * every claim whatever is done, and the claims are what cost: they wait for
 * 90% of the lead to be used, so each moves a full batch. Single no-op runs
 * on the 2-core bench: claiming at half the lead, 5,157–6,627 jobs/s at
 * txn/job 0.033; at 90%, 6,579–9,425 at 0.022 (docs/jobs.md). Bundled jobs
 * keep claiming at half their lead: their claims move many runs per item
 * already, and the rule measured level or a little worse for them (4 pairs
 * of 5 drains, medians ~17,300 against ~17,400 jobs/s).
 */
export const TOP_UP_SHARE_MAX = 0.9;
const TOP_UP_SHARE_DEFAULT = 0.5;

export interface Pace {
  /** Moving average of a run's time, ms; null before one ended. */
  runMs: number | null;
  /** Moving average of a claim's time, ms; null before one returned runs. */
  claimMs: number | null;
  concurrency: number;
  /** Runs claimed ahead beyond the free slots, at most. */
  ahead: number;
  /** The job's runs come in bundles (ADR 0006). */
  bundled: boolean;
}

export function topUpShare(p: Pace): number {
  if (p.bundled || p.runMs === null || p.claimMs === null || p.ahead <= 0) return TOP_UP_SHARE_DEFAULT;
  // The runs the slots get through while one claim is on its way, and how many of those the lead holds.
  const perClaim = (p.claimMs * p.concurrency) / Math.max(p.runMs, 0.01);
  const covers = p.ahead / Math.max(perClaim, 1);
  if (covers < 1) return TOP_UP_SHARE_MAX;
  if (covers < 2) return TOP_UP_SHARE_DEFAULT;
  return Math.min(TOP_UP_SHARE_MAX, 1 - 1 / covers);
}

/**
 * Whether a claim waits, with `held` runs claimed ahead still unstarted and
 * room for `want` more: until the share of the lead is used, and never for
 * more room than one claim can fill (`claimMax`), so a lead of two claims is
 * topped up by a full claim while a claim's worth is still in hand.
 */
export function claimWaits(p: { held: number; want: number; ahead: number; share: number; claimMax: number }): boolean {
  return p.held > 0 && p.want < Math.min(p.ahead * p.share, p.claimMax);
}
