import { codePointLength } from './text';

export const NAME_MAX_LENGTH = 100;

/** Display names are stored trimmed, in NFC. */
export function normalizeName(name: string): string {
  return name.trim().normalize('NFC');
}

/** 1 to NAME_MAX_LENGTH code points once normalised. */
export function isValidName(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const length = codePointLength(normalizeName(value));
  return length >= 1 && length <= NAME_MAX_LENGTH;
}
