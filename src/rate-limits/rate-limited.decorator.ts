import { UseMiddleware, type MiddlewareFn } from 'type-graphql';
import type { RateLimitedOperation } from '../config';
import type { Context } from '../context';
import { normalizeEmail } from '../users/user.validation';

export interface RateLimitBuckets<TArgs> {
  /** Count by client IP: Express's req.ip, which follows X-Forwarded-For only as TRUST_PROXY allows. */
  readonly ip?: boolean;
  /** Count by account: the account the attempt is about, e.g. the email tried. */
  readonly account?: (args: TArgs, ctx: Context) => string | Promise<string>;
}

/** The account of a signup or login attempt: its email, trimmed and lower-cased. */
export const emailOfInput = ({ input }: { input: { email: string } }): string => normalizeEmail(input.email);

/** The account of an operation of the signed-in viewer: their user id. */
export const signedInUser = async (_args: unknown, ctx: Context): Promise<string> => (await ctx.auth.viewer()).user.id;

/**
 * Puts an operation under RATE_LIMITS (`<operation>:ip`, `<operation>:account`): before the
 * resolver does any work, even before its input is validated, every call (each alias of a
 * request included) takes one attempt from each configured bucket; a full bucket answers
 * RATE_LIMITED with `retryAfter`, and the resolver does not run.
 */
export function RateLimited<TArgs>(operation: RateLimitedOperation, buckets: RateLimitBuckets<TArgs>): MethodDecorator {
  const takeAttempts: MiddlewareFn<Context> = async ({ args, context, info }, next) => {
    const { account } = buckets;
    await context.services.rateLimits.check(
      operation,
      {
        ip: buckets.ip ? () => context.ip ?? 'unknown' : undefined,
        account: account ? () => account(args as TArgs, context) : undefined,
      },
      info,
    );
    return (await next()) as unknown;
  };
  return UseMiddleware(takeAttempts);
}
