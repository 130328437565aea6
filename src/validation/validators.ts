import { ValidateBy, type ValidationArguments, type ValidationOptions } from 'class-validator';
import { passwordProblem } from '../credentials/password.policy';
import { EMAIL_MAX_LENGTH, isValidEmail } from './email';
import { hasNul, isValidName, NAME_MAX_LENGTH } from './display-name';

/** class-validator decorators over the one definition of each input, shared by GraphQL inputs and the CLI. */
export function IsAccountEmail(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAccountEmail',
      validator: {
        validate: (value: unknown) => isValidEmail(value),
        defaultMessage: () => `must be a valid email address of at most ${String(EMAIL_MAX_LENGTH)} characters`,
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
        validate: (value: unknown) => isValidName(value),
        defaultMessage: () => `must be between 1 and ${String(NAME_MAX_LENGTH)} characters, without control characters`,
      },
    },
    options,
  );
}

/** Free text that reaches a query (a search): anything but NUL, which PostgreSQL text cannot hold. */
export function IsSearchText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSearchText',
      validator: {
        validate: (value: unknown) => value === null || value === undefined || (typeof value === 'string' && !hasNul(value)),
        defaultMessage: () => 'must not contain a NUL character',
      },
    },
    options,
  );
}

/**
 * The password policy (credentials/password.policy.ts) as a validator. With `emailProperty`, the
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
