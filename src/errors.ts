/**
 * The errors services throw: each carries a code (and extensions) that clients act on.
 * graphql/format-error.ts turns them into GraphQL errors; anything else is masked there.
 */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  RATE_LIMITED = 'RATE_LIMITED',
  /** A dependency the operation cannot safely run without (the database, the rate-limit store) is unreachable. */
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

export enum AuthReason {
  TOKEN_MISSING = 'TOKEN_MISSING',
  TOKEN_INVALID = 'TOKEN_INVALID',
  TOKEN_EXPIRED = 'TOKEN_EXPIRED',
  TOKEN_REVOKED = 'TOKEN_REVOKED',
  INVALID_CREDENTIALS = 'INVALID_CREDENTIALS',
  ACCOUNT_DISABLED = 'ACCOUNT_DISABLED',
  REFRESH_TOKEN_REUSED = 'REFRESH_TOKEN_REUSED',
  EMAIL_NOT_VERIFIED = 'EMAIL_NOT_VERIFIED',
  MFA_REQUIRED = 'MFA_REQUIRED',
  INVALID_MFA_CODE = 'INVALID_MFA_CODE',
}

/** Base of every error a client is meant to act on; anything else is masked. */
export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
  extensions(): Record<string, unknown> {
    return {};
  }
}

export const AUTH_MESSAGES: Record<AuthReason, string> = {
  TOKEN_MISSING: 'You must be signed in',
  TOKEN_INVALID: 'The access token is invalid',
  TOKEN_EXPIRED: 'The token has expired',
  TOKEN_REVOKED: 'The token has been revoked',
  INVALID_CREDENTIALS: 'Invalid email or password',
  ACCOUNT_DISABLED: 'This account is disabled',
  REFRESH_TOKEN_REUSED: 'The refresh token was already used; the session has been ended',
  EMAIL_NOT_VERIFIED: 'Confirm your email address first: follow the link mailed to it',
  MFA_REQUIRED: 'Enter a code from your authenticator app or a recovery code (verifyMfa)',
  INVALID_MFA_CODE: 'The code is wrong or was already used',
};

export class AuthenticationFailure extends AppError {
  readonly code = ErrorCode.UNAUTHENTICATED;
  constructor(
    readonly reason: AuthReason,
    message: string = AUTH_MESSAGES[reason],
  ) {
    super(message);
  }
  override extensions(): Record<string, unknown> {
    return { reason: this.reason };
  }
}

/**
 * The password was right and the account has a second factor: `extensions.mfaToken` is the
 * short-lived, single-use challenge that `verifyMfa` exchanges, with a code, for the session.
 */
export class MfaRequired extends AuthenticationFailure {
  constructor(readonly mfaToken: string) {
    super(AuthReason.MFA_REQUIRED);
  }
  override extensions(): Record<string, unknown> {
    return { ...super.extensions(), mfaToken: this.mfaToken };
  }
}

/** A feature this deployment has not configured (passkeys without WEBAUTHN_RP_ID in production). */
export class FeatureDisabled extends AppError {
  readonly code = ErrorCode.FORBIDDEN;
  override extensions(): Record<string, unknown> {
    return { reason: 'FEATURE_DISABLED' };
  }
}

/** Validation failure: `fields` maps each offending input field to a message. */
export class InvalidInput extends AppError {
  readonly code = ErrorCode.BAD_USER_INPUT;
  constructor(readonly fields: Readonly<Record<string, string>>) {
    super('Invalid input');
  }
  override extensions(): Record<string, unknown> {
    return { fields: this.fields };
  }
}

/** Too many attempts in a rate-limit bucket; `retryAfter` tells when the next may succeed. */
export class RateLimitExceeded extends AppError {
  readonly code = ErrorCode.RATE_LIMITED;
  constructor(readonly retryAfterSeconds: number) {
    super('Too many attempts, try again later');
  }
  override extensions(): Record<string, unknown> {
    return { retryAfter: this.retryAfterSeconds };
  }
}

/** A dependency the operation cannot safely run without is unreachable: try again shortly. */
export class ServiceUnavailable extends AppError {
  readonly code = ErrorCode.SERVICE_UNAVAILABLE;
}

/**
 * Too much work is waiting already (password hashes queued, requests in flight): refused at once
 * instead of answered late; `retryAfter` says when to try again, in whole seconds.
 */
export class Overloaded extends ServiceUnavailable {
  constructor(readonly retryAfterSeconds: number) {
    super('The service is busy; try again shortly');
  }
  override extensions(): Record<string, unknown> {
    return { retryAfter: this.retryAfterSeconds };
  }
}

/** The client closed its connection before the answer: its work is dropped; nobody reads this error. */
export class ClientGone extends ServiceUnavailable {
  constructor() {
    super('The client closed the connection');
  }
}

/**
 * The text of a thrown value of any kind, for operators (start-up, the CLI): PGlite and the WASM
 * runtime also throw plain objects, which `String()` would print as `[object Object]`.
 */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    if (typeof message === 'string') return typeof code === 'string' ? `${message} (${code})` : message;
    try {
      return JSON.stringify(error);
    } catch {
      return Object.prototype.toString.call(error);
    }
  }
  return String(error);
}
