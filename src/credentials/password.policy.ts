import { dictionary } from '@zxcvbn-ts/language-common';
import { codePointLength } from '../validation/text';

/**
 * The one password policy, after NIST SP 800-63B: a length range counted in Unicode code
 * points of the NFC form, no composition rules, and a refusal of passwords that are known
 * to be common or that repeat the account's own email. Signup, changePassword,
 * `user:create` and BOOTSTRAP_ADMIN_PASSWORD all call `passwordProblem`.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * A bound in UTF-16 code units checked before anything else, so a huge string is refused
 * without being normalised or counted. NFC composes at most four code points into one
 * (e.g. U+1F87), so no password within PASSWORD_MAX_LENGTH once normalised is longer.
 */
export const PASSWORD_MAX_UNITS = PASSWORD_MAX_LENGTH * 4;

export const PASSWORD_LENGTH_MESSAGE = `must be between ${String(PASSWORD_MIN_LENGTH)} and ${String(PASSWORD_MAX_LENGTH)} characters`;
export const PASSWORD_COMMON_MESSAGE = 'is too common; choose a less guessable password';
export const PASSWORD_EMAIL_MESSAGE = 'must not be your email address or the part before the @';

/** The form passwords are compared in: NFC, lower-cased. */
function comparable(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

/** Length in Unicode code points of the NFC form, as NIST SP 800-63B counts it. */
export function passwordLength(password: string): number {
  return codePointLength(password.normalize('NFC'));
}

/**
 * The common-password list of zxcvbn-ts (`@zxcvbn-ts/language-common`, "passwords-common":
 * the most frequent passwords of Mark Burnett's 10-million-password corpus, lower-cased),
 * read once when this module loads. Entries shorter than the minimum are left out: the
 * length rule refuses them already.
 */
const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  dictionary['passwords-common'].map(comparable).filter((password) => codePointLength(password) >= PASSWORD_MIN_LENGTH),
);

/** How many entries of the shipped list a password of an allowed length can match. */
export const COMMON_PASSWORD_COUNT = COMMON_PASSWORDS.size;

/** True when the password, compared NFC-normalised and case-insensitively, is on the shipped list. */
export function isCommonPassword(password: string): boolean {
  return COMMON_PASSWORDS.has(comparable(password));
}

/** Words specific to the account that its password must not be. */
export interface PasswordContext {
  readonly email?: string | null | undefined;
}

/**
 * Why `password` may not be chosen as a new password, as a field message, or null when
 * it may. Checks run cheapest first: a string far over the maximum is refused before it
 * is normalised, and nothing here hashes.
 */
export function passwordProblem(password: unknown, context: PasswordContext = {}): string | null {
  if (typeof password !== 'string') return 'must be a string';
  if (password.length > PASSWORD_MAX_UNITS) return PASSWORD_LENGTH_MESSAGE;
  const length = passwordLength(password);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) return PASSWORD_LENGTH_MESSAGE;
  const candidate = comparable(password);
  if (typeof context.email === 'string' && emailWords(context.email).includes(candidate)) return PASSWORD_EMAIL_MESSAGE;
  if (COMMON_PASSWORDS.has(candidate)) return PASSWORD_COMMON_MESSAGE;
  return null;
}

/** The email as stored (trimmed, lower-cased) and its local part. */
function emailWords(email: string): string[] {
  const normalized = comparable(email.trim());
  const at = normalized.lastIndexOf('@');
  return at > 0 ? [normalized, normalized.slice(0, at)] : [normalized];
}
