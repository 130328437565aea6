import { Extensions, UseMiddleware, type MiddlewareInterface, type NextFn, type ResolverData } from 'type-graphql';
import type { RateLimitedOperation } from '../config/rate-limit-rules';
import type { Context } from '../context';
import { normalizeEmail } from '../validation/email';
import type { RateLimiter } from './rate-limiter';

export interface RateLimitBuckets<TArgs> {
  /** Count by client IP: Express's req.ip, which follows X-Forwarded-For only as TRUST_PROXY allows. */
  readonly ip?: boolean;
  /** Count by account: the account the attempt is about, e.g. the email tried. */
  readonly account?: (args: TArgs, ctx: Context) => string | Promise<string>;
}

/** What `@RateLimited` puts on its field (GraphQL field extensions), for the middleware to read. */
interface RateLimitExtension {
  readonly operation: RateLimitedOperation;
  readonly buckets: RateLimitBuckets<unknown>;
}

const EXTENSION = 'rateLimit';

/** The account of a signup or login attempt: its email, trimmed and lower-cased. */
export const emailOfInput = ({ input }: { input: { email: string } }): string => normalizeEmail(input.email);

/** The account of an operation of the signed-in viewer: their user id. */
export const signedInUser = async (_args: unknown, ctx: Context): Promise<string> => (await ctx.auth.viewer()).user.id;

/**
 * Takes the attempts of a rate-limited operation before its resolver runs. Built once in
 * createApp with the app's limiter; type-graphql finds it in the app's container.
 */
export class RateLimitMiddleware implements MiddlewareInterface<Context> {
  constructor(private readonly limiter: RateLimiter) {}

  async use({ args, context, info }: ResolverData<Context>, next: NextFn): Promise<unknown> {
    const extension = info.parentType.getFields()[info.fieldName]?.extensions[EXTENSION] as RateLimitExtension | undefined;
    if (extension) {
      const { account, ip } = extension.buckets;
      await this.limiter.check(
        extension.operation,
        {
          ip: ip ? () => context.client.ip ?? 'unknown' : undefined,
          account: account ? () => account(args, context) : undefined,
        },
        info,
      );
    }
    return next();
  }
}

/**
 * Puts an operation under RATE_LIMITS (`<operation>:ip`, `<operation>:account`): before the
 * resolver does any work, even before its input is validated, every call (each alias of a
 * request included) takes one attempt from each configured bucket; a full bucket answers
 * RATE_LIMITED with `retryAfter`, and the resolver does not run.
 */
export function RateLimited<TArgs>(operation: RateLimitedOperation, buckets: RateLimitBuckets<TArgs>): MethodDecorator {
  const extension: RateLimitExtension = { operation, buckets: buckets as RateLimitBuckets<unknown> };
  const describe = Extensions({ [EXTENSION]: extension });
  const guard = UseMiddleware(RateLimitMiddleware);
  return (prototype, propertyKey, descriptor) => {
    describe(prototype, propertyKey, descriptor);
    guard(prototype, propertyKey, descriptor);
  };
}
