import type { GraphQLResolveInfo } from 'graphql';
import { getGraphQLRateLimiter, Store, type Identity } from 'graphql-rate-limit';
import { createHash } from 'node:crypto';
import type { Config } from '../config/config';
import type { RateLimitedOperation, RateLimitKey, RateLimitRule, RateLimits } from '../config/rate-limit-rules';
import { RateLimitExceeded, ServiceUnavailable } from '../errors';
import type { Logger } from '../logger';
import { addressBucket } from './address-bucket';
import type { AttemptCounter, Verdict } from './attempt-counter';
import { MemoryAttemptCounter } from './memory-attempt-counter';
import { RedisAttemptCounter } from './redis-attempt-counter';

/**
 * What an operation's attempts are about, computed only when a rule needs it: the client address
 * and the account. `account-ip` buckets exist for operations that have both.
 */
export type RateLimitSubjects = Readonly<Partial<Record<'ip' | 'account', () => string | Promise<string>>>>;

/**
 * The address bucket is taken first, so a flood from one address does not use up its victims'
 * account budgets; then one account from one address; then the account from anywhere.
 */
const KEY_ORDER: readonly RateLimitKey[] = ['ip', 'account-ip', 'account'];

export const UNAVAILABLE_MESSAGE = 'Rate limiting is unavailable; try again shortly';

/**
 * graphql-rate-limit's Store, bound to one check. The library reads the attempt times, compares
 * and then writes them back, which loses attempts that run concurrently. Here the read is the
 * counter's atomic take, which also counts the attempt, and the write is a no-op. The answer
 * holds one entry per attempt already in the window; the counter has expired older ones, so the
 * entries are stamped never to expire under the library's own clock, and its `earlier + 1 > max`
 * is exactly the counter's verdict.
 */
class AtomicTakeStore extends Store {
  verdict: Verdict | undefined;
  /** The bucket's key in the counter, once taken. */
  key: string | undefined;

  constructor(
    private readonly counter: AttemptCounter,
    private readonly rule: RateLimitRule,
  ) {
    super();
  }

  async getForIdentity({ fieldIdentity, contextIdentity }: Identity): Promise<readonly number[]> {
    this.key = `rate-limit:${fieldIdentity}:${contextIdentity}`;
    this.verdict = await this.counter.take(this.key, this.rule);
    return new Array<number>(this.verdict.earlier).fill(Number.POSITIVE_INFINITY);
  }

  setForIdentity(): void {
    // Nothing to write: getForIdentity already counted the attempt, atomically.
  }

  /** The attempt this check counted, if it did. */
  get counted(): TakenAttempt | undefined {
    const attempt = this.verdict?.attempt;
    return this.key !== undefined && attempt !== undefined ? { key: this.key, attempt } : undefined;
  }
}

/** What the limiter reports about refusals (metrics); it knows nothing of who listens. */
export interface RateLimitObserver {
  /** `limit`: a full bucket (RATE_LIMITED); `store_unavailable`: the store failed (SERVICE_UNAVAILABLE). */
  refused(operation: RateLimitedOperation, bucket: RateLimitKey, reason: 'limit' | 'store_unavailable'): void;
}

interface TakenAttempt {
  readonly key: string;
  readonly attempt: string;
}

/**
 * Enforces RATE_LIMITS: for each configured bucket of an operation (`login:ip`,
 * `login:account`, ...) one attempt is taken before the resolver runs; a full bucket refuses
 * the attempt with RATE_LIMITED, and an unreachable store refuses it with SERVICE_UNAVAILABLE.
 * All or nothing: an attempt refused by one bucket is given back to the buckets taken before it,
 * so that, say, logins refused for a locked account do not use up the budget of the client's IP.
 */
export class RateLimiter {
  constructor(
    private readonly rules: RateLimits | 'off',
    private readonly counter: AttemptCounter | undefined,
    private readonly logger: Logger,
    /** IPv6 addresses count by this prefix (a client usually holds a whole /64). */
    private readonly ipv6PrefixBits = 64,
    private readonly observer?: RateLimitObserver,
  ) {}

  /** The text a bucket of this kind counts by, or undefined when the operation has no such subject. */
  private async subjectOf(kind: RateLimitKey, subjects: RateLimitSubjects): Promise<string | undefined> {
    const address = async () => (subjects.ip ? addressBucket(await subjects.ip(), this.ipv6PrefixBits) : undefined);
    switch (kind) {
      case 'ip':
        return address();
      case 'account':
        return subjects.account?.();
      case 'account-ip': {
        if (!subjects.account || !subjects.ip) return undefined;
        return `${await subjects.account()}\u0000${(await address()) ?? ''}`;
      }
    }
  }

  async check(operation: RateLimitedOperation, subjects: RateLimitSubjects, info: GraphQLResolveInfo): Promise<void> {
    if (this.rules === 'off' || !this.counter) return;
    const taken: TakenAttempt[] = [];
    try {
      for (const kind of KEY_ORDER) {
        const rule = this.rules[`${operation}:${kind}`];
        if (!rule) continue;
        const text = await this.subjectOf(kind, subjects);
        if (text === undefined) continue;
        // Hashed: bounded key length, and no email address or IP in the store's keys.
        const subject = createHash('sha256').update(text).digest('base64url');
        // One small limiter per check: its store knows this bucket's rule and keeps the verdict
        // (for retryAfter), neither of which graphql-rate-limit's Store interface passes along.
        const store = new AtomicTakeStore(this.counter, rule);
        const limiter = getGraphQLRateLimiter({ store, identifyContext: (bucket: string) => bucket });
        let refusal: string | undefined;
        try {
          refusal = await limiter(
            { parent: undefined, args: {}, context: `${kind}:${subject}`, info },
            { max: rule.max, window: `${String(rule.windowMs)}ms` },
          );
        } catch (err) {
          this.logger.warn({ err, operation }, 'rate limit store failed; attempt refused');
          this.observer?.refused(operation, kind, 'store_unavailable');
          throw new ServiceUnavailable(UNAVAILABLE_MESSAGE);
        }
        const counted = store.counted;
        if (counted) taken.push(counted);
        if (refusal !== undefined) {
          this.observer?.refused(operation, kind, 'limit');
          throw new RateLimitExceeded(Math.max(1, Math.ceil((store.verdict?.retryAfterMs ?? rule.windowMs) / 1000)));
        }
      }
    } catch (error) {
      await this.giveBack(this.counter, taken, operation);
      throw error;
    }
  }

  /** Uncounts the attempts of a refused check; a failure to do so is logged, the refusal stands. */
  private async giveBack(counter: AttemptCounter, taken: readonly TakenAttempt[], operation: RateLimitedOperation): Promise<void> {
    await Promise.all(
      taken.map(async ({ key, attempt }) => {
        try {
          await counter.giveBack(key, attempt);
        } catch (err) {
          this.logger.warn({ err, operation }, 'rate limit store failed; a refused attempt stays counted');
        }
      }),
    );
  }

  close(): Promise<void> {
    return this.counter?.close() ?? Promise.resolve();
  }
}

/** In-process counting by default; Redis, shared by every instance, when REDIS_URL is set. */
export async function createRateLimiter(config: Config, logger: Logger, observer?: RateLimitObserver): Promise<RateLimiter> {
  if (config.rateLimits === 'off') return new RateLimiter('off', undefined, logger);
  const counter = config.redisUrl
    ? await RedisAttemptCounter.connect(config.redisUrl, config.redisKeyPrefix, logger)
    : new MemoryAttemptCounter();
  return new RateLimiter(config.rateLimits, counter, logger, config.rateLimitIpv6Prefix, observer);
}
