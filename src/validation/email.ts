import { isEmail } from 'class-validator';

/** The one definition of an account email, for the API, `user:create` and BOOTSTRAP_ADMIN_EMAIL. */
export const EMAIL_MAX_LENGTH = 254;

/** Emails compare trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** True for a syntactically valid address of at most EMAIL_MAX_LENGTH characters once normalised. */
export function isValidEmail(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const email = normalizeEmail(value);
  return email.length <= EMAIL_MAX_LENGTH && isEmail(email);
}
