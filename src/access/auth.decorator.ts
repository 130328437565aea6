import { Authorized, Directive } from 'type-graphql';
import type { Role } from './role';

/**
 * Who may read a field or run an operation. No roles: any signed-in user.
 * `self`: also the user the field belongs to (the parent object is that user).
 */
export interface AuthRule {
  readonly roles?: readonly Role[];
  readonly self?: boolean;
}

/** The SDL of the `@authorized` directive that `Auth` applies; declared in schema.ts. */
export function authorizedDirectiveSdl(rule: AuthRule): string {
  const args: string[] = [];
  if (rule.roles?.length) args.push(`roles: [${rule.roles.join(', ')}]`);
  if (rule.self) args.push('self: true');
  return args.length ? `@authorized(${args.join(', ')})` : '@authorized';
}

/**
 * The single declaration of an authorization rule: it installs type-graphql's guard,
 * which the auth checker enforces, and applies the `@authorized` directive that shows
 * the same rule in the printed schema. Guarded fields must be nullable, so that a
 * refusal nulls the field and not its parent.
 */
export function Auth(rule: AuthRule = {}): MethodDecorator & PropertyDecorator {
  const enforce = Authorized<AuthRule>(rule);
  const show = Directive(authorizedDirectiveSdl(rule));
  return (prototype: object, propertyKey: string | symbol, descriptor?: PropertyDescriptor): void => {
    enforce(prototype, propertyKey, descriptor as TypedPropertyDescriptor<unknown>);
    show(prototype, propertyKey, descriptor as TypedPropertyDescriptor<unknown>);
  };
}
