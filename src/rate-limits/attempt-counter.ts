import type { RateLimitRule } from '../config/rate-limit-rules';

/** What one attempt against a bucket found, decided atomically. */
export interface Verdict {
  /** Attempts already counted in the window before this one. */
  readonly earlier: number;
  /** True when this attempt was counted; false when the window was full (it is refused and not counted). */
  readonly counted: boolean;
  /** When refused: milliseconds until the oldest counted attempt leaves the window. */
  readonly retryAfterMs: number;
  /** When counted: the attempt's own id in the bucket, for giveBack. */
  readonly attempt?: string;
}

/**
 * Counts attempts per bucket in a sliding window (a log of attempt times: at most `max`
 * attempts in any `windowMs`). `take` is atomic: it forgets attempts
 * older than the window and counts this one only if fewer than `max` remain, so concurrent
 * attempts can never both see the last free slot. `giveBack` uncounts one counted attempt (an
 * attempt refused by another bucket counts in none).
 */
export interface AttemptCounter {
  take(bucket: string, rule: RateLimitRule): Verdict | Promise<Verdict>;
  /** Removes a counted attempt (`Verdict.attempt`) from its bucket; never throws for a store that is away. */
  giveBack(bucket: string, attempt: string): void | Promise<void>;
  close(): Promise<void>;
}
