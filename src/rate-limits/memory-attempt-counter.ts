import type { RateLimitRule } from '../config/rate-limit-rules';
import type { AttemptCounter, Verdict } from './attempt-counter';

const SWEEP_INTERVAL_MS = 60_000;

interface Bucket {
  readonly windowMs: number;
  /** Attempt times, oldest first. */
  times: number[];
}

/**
 * The in-process counter of one app instance. `take` is synchronous, so no other request can
 * run between its check and its increment.
 */
export class MemoryAttemptCounter implements AttemptCounter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Buckets nobody touches again would otherwise stay forever (one per email ever tried).
    this.sweeper = setInterval(() => {
      this.sweep();
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  take(key: string, rule: RateLimitRule): Verdict {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { windowMs: rule.windowMs, times: [] };
    bucket.times = bucket.times.filter((time) => time > now - rule.windowMs);
    const earlier = bucket.times.length;
    const counted = earlier < rule.max;
    if (counted) bucket.times.push(now);
    const [oldest] = bucket.times;
    if (oldest === undefined) this.buckets.delete(key);
    else this.buckets.set(key, bucket);
    return { earlier, counted, retryAfterMs: counted || oldest === undefined ? 0 : oldest + rule.windowMs - now };
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      const newest = bucket.times.at(-1);
      if (newest === undefined || newest <= now - bucket.windowMs) this.buckets.delete(key);
    }
  }
}
