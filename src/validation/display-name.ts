import { codePointLength } from './text';

export const NAME_MAX_LENGTH = 100;

/** Display names are stored trimmed, in NFKC (fullwidth and compatibility forms become their usual form). */
export function normalizeName(name: string): string {
  return name.trim().normalize('NFKC');
}

/** Control characters (NUL, line breaks, escapes...) have no place in a name; PostgreSQL cannot even store NUL. */
const CONTROL = /\p{Cc}/u;

/** 1 to NAME_MAX_LENGTH code points once normalised, without control characters. */
export function isValidName(value: unknown): value is string {
  if (typeof value !== 'string' || CONTROL.test(value)) return false;
  const length = codePointLength(normalizeName(value));
  return length >= 1 && length <= NAME_MAX_LENGTH;
}

/** True when text holds a NUL character, which no PostgreSQL text value can hold. */
export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}
