import { ValidateBy, isEmail, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { passwordProblem } from '../auth/password.policy';

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

/**
 * The password policy (auth/password.policy.ts) as a validator. With `emailProperty`, the
 * password must also differ from that sibling email and its local part.
 */
export function IsNewPassword(emailProperty?: string, options?: ValidationOptions): PropertyDecorator {
  const problem = (args: ValidationArguments): string | null => {
    const email = emailProperty === undefined ? undefined : (args.object as Record<string, unknown>)[emailProperty];
    return passwordProblem(args.value, { email: typeof email === 'string' ? email : undefined });
  };
  return ValidateBy(
    {
      name: 'isNewPassword',
      validator: {
        validate: (_value: unknown, args?: ValidationArguments) => args !== undefined && problem(args) === null,
        defaultMessage: (args?: ValidationArguments) => (args && problem(args)) ?? 'is not allowed',
      },
    },
    options,
  );
}
