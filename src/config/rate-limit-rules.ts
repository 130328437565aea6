import { ConfigError, parseDuration, parseInteger } from './env';

export const RATE_LIMITED_OPERATIONS = [
  'login',
  'signup',
  'refreshToken',
  'changePassword',
  'passwordReset',
  'verifyEmail',
  'resendVerification',
  'changeEmail',
  'mfa',
  'passkeyLogin',
] as const;
export type RateLimitedOperation = (typeof RATE_LIMITED_OPERATIONS)[number];
/**
 * What a bucket counts by: the client address (`ip`), the account the attempt is about
 * (`account`), or that account from that address (`account-ip`).
 */
export type RateLimitKey = 'account' | 'ip' | 'account-ip';

export interface RateLimitRule {
  readonly max: number;
  readonly windowMs: number;
}

/** `login:account` → rule; an absent entry means no limit of that kind. */
export type RateLimits = Readonly<Partial<Record<`${RateLimitedOperation}:${RateLimitKey}`, RateLimitRule>>>;

/**
 * Logins count wrong guesses per account and address (`login:account-ip`), so a stranger's guesses
 * do not lock the owner out on their own address, under a much higher per-account ceiling for
 * guessing spread over many addresses (`login:account`), as Auth0's brute-force protection and
 * NIST SP 800-63B §5.2.2 advise.
 */
export const DEFAULT_RATE_LIMITS =
  'login:account-ip=5/15m,login:account=100/15m,login:ip=50/15m,signup:ip=10/1h,refreshToken:ip=60/15m,changePassword:account=5/15m,' +
  'passwordReset:account=3/1h,passwordReset:ip=20/1h,verifyEmail:ip=30/15m,resendVerification:account=3/1h,changeEmail:account=5/1h,mfa:account=5/15m,passkeyLogin:ip=50/15m';

function isOperation(name: string): name is RateLimitedOperation {
  return (RATE_LIMITED_OPERATIONS as readonly string[]).includes(name);
}

/** RATE_LIMITS: `off`, or entries such as `login:account=5/15m` applied over the defaults. */
export function parseRateLimits(raw: string | undefined): RateLimits | 'off' {
  const variable = 'RATE_LIMITS';
  if (raw?.trim().toLowerCase() === 'off') return 'off';
  const limits = new Map<`${RateLimitedOperation}:${RateLimitKey}`, RateLimitRule>();
  const entries = [DEFAULT_RATE_LIMITS, raw ?? '']
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const match = /^(\w+):(account-ip|account|ip)=(?:(off)|(\d+)\/(\w+))$/.exec(entry);
    const operation = match?.[1];
    const kind = match?.[2] as RateLimitKey | undefined;
    if (!match || operation === undefined || kind === undefined || !isOperation(operation)) {
      throw new ConfigError(
        variable,
        `entry "${entry}" must look like login:account=5/15m (operations: ${RATE_LIMITED_OPERATIONS.join(', ')}; keys: account-ip, account, ip), or be "off"`,
      );
    }
    const key = `${operation}:${kind}` as const;
    // A refresh token is its own credential: there is no account to count before verifying it.
    if (key === 'refreshToken:account' || key === 'refreshToken:account-ip') {
      throw new ConfigError(variable, `has no ${key} limit (refreshToken:ip only)`);
    }
    if (match[3]) {
      limits.delete(key); // `off`: no limit of this kind
      continue;
    }
    const max = parseInteger(variable, match[4] ?? '', 1, 1_000_000);
    limits.set(key, Object.freeze({ max, windowMs: parseDuration(variable, match[5] ?? '') }));
  }
  const rules: RateLimits = Object.fromEntries(limits);
  return Object.freeze(rules);
}
