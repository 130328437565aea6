import type { RateLimitRule } from '../config/rate-limit-rules';
import type { AttemptCounter, Verdict } from './attempt-counter';

const SWEEP_INTERVAL_MS = 60_000;

interface Attempt {
  readonly at: number;
  readonly id: string;
}

interface Bucket {
  readonly windowMs: number;
  /** Attempts, oldest first. */
  attempts: Attempt[];
}

/**
 * The in-process counter of one app instance. `take` is synchronous, so no other request can
 * run between its check and its increment.
 */
export class MemoryAttemptCounter implements AttemptCounter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper: NodeJS.Timeout;
  private nextId = 0;

  constructor(private readonly now: () => number = Date.now) {
    // Buckets nobody touches again would otherwise stay forever (one per email ever tried).
    this.sweeper = setInterval(() => {
      this.sweep();
    }, SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  take(key: string, rule: RateLimitRule): Verdict {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { windowMs: rule.windowMs, attempts: [] };
    bucket.attempts = bucket.attempts.filter(({ at }) => at > now - rule.windowMs);
    const earlier = bucket.attempts.length;
    const counted = earlier < rule.max;
    const attempt = counted ? String((this.nextId += 1)) : undefined;
    if (attempt !== undefined) bucket.attempts.push({ at: now, id: attempt });
    const oldest = bucket.attempts[0]?.at;
    if (oldest === undefined) this.buckets.delete(key);
    else this.buckets.set(key, bucket);
    if (attempt !== undefined) return { earlier, counted, retryAfterMs: 0, attempt };
    return { earlier, counted, retryAfterMs: oldest === undefined ? 0 : oldest + rule.windowMs - now };
  }

  giveBack(key: string, attempt: string): void {
    const bucket = this.buckets.get(key);
    if (!bucket) return;
    bucket.attempts = bucket.attempts.filter(({ id }) => id !== attempt);
    if (bucket.attempts.length === 0) this.buckets.delete(key);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    this.buckets.clear();
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      const newest = bucket.attempts.at(-1)?.at;
      if (newest === undefined || newest <= now - bucket.windowMs) this.buckets.delete(key);
    }
  }
}
