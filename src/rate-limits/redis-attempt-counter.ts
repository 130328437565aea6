import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { RateLimitRule } from '../config/rate-limit-rules';
import type { Logger } from '../logger';
import type { AttemptCounter, Verdict } from './attempt-counter';

/**
 * How long a connection attempt or a command may take before the attempt fails closed. A
 * refused connection fails at once; this bounds a Redis that hangs. Under 1 s proved too tight
 * for a busy event loop (a reply that arrived in time was still reported as a time-out).
 */
const REDIS_TIMEOUT_MS = 2500;
/** How long an attempt waits for a reconnection in progress before failing closed. */
const RECONNECT_WAIT_MS = 1000;
/** Attempts waiting to be uncounted, at most; beyond it the oldest are forgotten (and logged). */
const MAX_UNCOUNTED = 10_000;
/** How often attempts still waiting to be uncounted are tried again, while Redis does not answer. */
const UNCOUNT_RETRY_MS = 1000;

/**
 * The sliding window as one atomic script over a sorted set of attempt times (scores). Time is
 * Redis's own clock, so instances with skewed clocks still share one window. Returns
 * { earlier, counted (1/0), retryAfterMs }.
 */
const TAKE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local earlier = redis.call('ZCARD', KEYS[1])
if earlier < max then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return { earlier, 1, 0 }
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { earlier, 0, tonumber(oldest[2]) + window - now }
`;

type TakeReply = [earlier: number, counted: number, retryAfterMs: number];

/**
 * Attempts counted in Redis, shared by every instance with the same REDIS_URL and key prefix.
 * Commands never wait in an offline queue: while Redis is unreachable (refused, or no answer
 * within REDIS_TIMEOUT_MS) `take` rejects at once, and the limiter fails closed.
 *
 * A take that timed out may still run: a Redis that is frozen or overloaded keeps the commands it
 * received and runs them when it resumes. The attempt was refused (SERVICE_UNAVAILABLE), so it
 * must count nowhere; otherwise a few refused logins during a pause would lock the account for a
 * whole window afterwards. Each attempt is a member with a unique id, so it is uncounted with a
 * ZREM sent at once on the same connection (Redis runs a connection's commands in order: after
 * the take), and sent again until Redis answers it.
 */
export class RedisAttemptCounter implements AttemptCounter {
  private readonly redis: Redis & { takeAttempt(key: string, windowMs: number, max: number, id: string): Promise<TakeReply> };
  private reachable: boolean | undefined;
  /** Attempts to uncount, until a ZREM of each has been answered: attempt id → its key. Oldest first. */
  private readonly uncounted = new Map<string, string>();
  private uncountRetry: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    url: string,
    private readonly keyPrefix: string,
    private readonly logger: Logger,
  ) {
    const redis = new Redis(url, {
      enableOfflineQueue: false,
      connectTimeout: REDIS_TIMEOUT_MS,
      commandTimeout: REDIS_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      // Ready as soon as connected, with no handshake commands: a Redis that accepts connections
      // but does not answer is caught by commandTimeout on the attempt itself.
      enableReadyCheck: false,
      disableClientInfo: true,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    redis.defineCommand('takeAttempt', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.redis = redis as RedisAttemptCounter['redis'];
    // Logged on each change of state, not on every reconnection attempt.
    this.redis.on('ready', () => {
      if (this.reachable === false) this.logger.info('rate limits: Redis reachable again');
      this.reachable = true;
      void this.uncountPending();
    });
    this.redis.on('error', (err: Error) => {
      if (this.reachable !== false) this.logger.error({ err }, 'rate limits: Redis unreachable; rate-limited operations fail closed');
      this.reachable = false;
    });
  }

  /** Connects, waiting at most REDIS_TIMEOUT_MS; an unreachable Redis does not stop start-up. */
  static async connect(url: string, keyPrefix: string, logger: Logger): Promise<RedisAttemptCounter> {
    const counter = new RedisAttemptCounter(url, keyPrefix, logger);
    try {
      await once(counter.redis, 'ready', { signal: AbortSignal.timeout(REDIS_TIMEOUT_MS) });
    } catch {
      // Logged by the error handler; ioredis keeps reconnecting in the background.
    }
    return counter;
  }

  async take(key: string, rule: RateLimitRule): Promise<Verdict> {
    if (this.redis.status !== 'ready') await this.reconnected(); // nothing sent yet: nothing to uncount
    const attempt = randomUUID();
    let reply: TakeReply;
    try {
      reply = await this.redis.takeAttempt(this.keyPrefix + key, rule.windowMs, rule.max, attempt);
    } catch (error) {
      // Not awaited: the refusal does not wait for a Redis that does not answer. The ZREM is
      // written to the connection now, behind the take.
      void this.uncount(this.keyPrefix + key, attempt);
      throw error;
    }
    const [earlier, counted, retryAfterMs] = reply;
    return counted === 1 ? { earlier, counted: true, retryAfterMs, attempt } : { earlier, counted: false, retryAfterMs };
  }

  /** Uncounts an attempt that another bucket refused; a Redis that does not answer gets it later. */
  giveBack(key: string, attempt: string): Promise<void> {
    return this.uncount(this.keyPrefix + key, attempt);
  }

  /** Removes an attempt from its bucket now if Redis answers, or as soon as it does. */
  private async uncount(key: string, attempt: string): Promise<void> {
    this.uncounted.set(attempt, key);
    if (this.uncounted.size > MAX_UNCOUNTED) {
      const [oldest] = this.uncounted.keys();
      if (oldest !== undefined) this.uncounted.delete(oldest);
      this.logger.warn({ limit: MAX_UNCOUNTED }, 'rate limits: too many attempts waiting to be uncounted; the oldest stays counted');
    }
    await this.sendUncount(key, [attempt]);
  }

  /** One ZREM of attempts of one bucket; those it removed (or found gone) are done. */
  private async sendUncount(key: string, attempts: readonly string[]): Promise<void> {
    if (this.redis.status !== 'ready') {
      this.retryUncountLater();
      return;
    }
    try {
      await this.redis.zrem(key, ...attempts);
      for (const attempt of attempts) this.uncounted.delete(attempt);
    } catch {
      this.retryUncountLater();
    }
  }

  /** Sends a ZREM per bucket for every attempt still waiting to be uncounted. */
  private async uncountPending(): Promise<void> {
    const byKey = new Map<string, string[]>();
    for (const [attempt, key] of this.uncounted) byKey.set(key, [...(byKey.get(key) ?? []), attempt]);
    await Promise.all([...byKey].map(([key, attempts]) => this.sendUncount(key, attempts)));
  }

  private retryUncountLater(): void {
    if (this.uncountRetry !== undefined || this.closed) return;
    this.uncountRetry = setTimeout(() => {
      this.uncountRetry = undefined;
      void this.uncountPending();
    }, UNCOUNT_RETRY_MS);
    this.uncountRetry.unref();
  }

  /**
   * Between a dropped connection and the next one (a restart of Redis, or a connection timed out
   * while the event loop was busy) an attempt waits briefly for the client to reconnect.
   */
  private async reconnected(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'close') throw new Error(`Redis is not connected (${this.redis.status})`);
    try {
      await once(this.redis, 'ready', { signal: AbortSignal.timeout(RECONNECT_WAIT_MS) });
    } catch {
      throw new Error(`Redis is not connected (${this.redis.status})`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.uncountRetry);
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => {
        this.redis.disconnect();
      });
    } else this.redis.disconnect();
  }
}
