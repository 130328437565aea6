import { ValidateBy, isEmail, type ValidationOptions } from 'class-validator';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordLength } from '../auth/password.service';

export const EMAIL_MAX_LENGTH = 254;
export const NAME_MAX_LENGTH = 100;

/** Emails compare trimmed and lower-cased. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function normalizeName(name: string): string {
  return name.trim().normalize('NFC');
}

export function IsAccountEmail(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAccountEmail',
      validator: {
        validate: (value: unknown) =>
          typeof value === 'string' && normalizeEmail(value).length <= EMAIL_MAX_LENGTH && isEmail(normalizeEmail(value)),
        defaultMessage: () => `must be a valid email address of at most ${EMAIL_MAX_LENGTH} characters`,
      },
    },
    options,
  );
}

export function IsDisplayName(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDisplayName',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          const length = [...normalizeName(value)].length;
          return length >= 1 && length <= NAME_MAX_LENGTH;
        },
        defaultMessage: () => `must be between 1 and ${NAME_MAX_LENGTH} characters`,
      },
    },
    options,
  );
}

export function IsNewPassword(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNewPassword',
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          // Refused before counting code points, so an enormous string costs nothing.
          if (value.length > PASSWORD_MAX_LENGTH * 2) return false;
          const length = passwordLength(value);
          return length >= PASSWORD_MIN_LENGTH && length <= PASSWORD_MAX_LENGTH;
        },
        defaultMessage: () => `must be between ${PASSWORD_MIN_LENGTH} and ${PASSWORD_MAX_LENGTH} characters`,
      },
    },
    options,
  );
}
