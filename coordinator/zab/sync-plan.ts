/**
 * How a leader brings a follower to its history (pure): DIFF from the
 * follower's last zxid, after a TRUNC if the follower holds what the leader
 * does not, or SNAP when the leader's log (entries above `base`, the
 * snapshot it continues) no longer reaches back to where the two histories
 * meet. Logs that share a zxid agree up to it (one leader per epoch proposes
 * each zxid once), which is what makes the shared point a safe TRUNC target.
 */
import type { Entry } from './messages.ts';

export type SyncPlan = { kind: 'diff'; truncateTo: number | null; from: number } | { kind: 'snap' };

/** `from` indexes `log`: the DIFF is `log.slice(from)`. */
export function planSync(log: readonly Entry[], base: number, followerLast: number): SyncPlan {
  const last = log[log.length - 1]?.zxid ?? base;
  if (followerLast > last) return { kind: 'diff', truncateTo: last, from: log.length };
  if (followerLast === base) return { kind: 'diff', truncateTo: null, from: 0 };
  if (followerLast < base) return { kind: 'snap' };
  // The newest entry at or below the follower's last zxid: its own, or the last both can share.
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((log[mid] as Entry).zxid <= followerLast) lo = mid + 1;
    else hi = mid;
  }
  const j = lo - 1;
  if (j >= 0 && (log[j] as Entry).zxid === followerLast) return { kind: 'diff', truncateTo: null, from: j + 1 };
  // The histories meet below the whole log: at the very beginning (no
  // snapshot yet), or somewhere only a snapshot still covers.
  if (j < 0) return base === 0 ? { kind: 'diff', truncateTo: 0, from: 0 } : { kind: 'snap' };
  return { kind: 'diff', truncateTo: (log[j] as Entry).zxid, from: j + 1 };
}
