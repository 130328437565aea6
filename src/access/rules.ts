import type { AuthRule } from './auth.decorator';
import type { Role } from './role';

/**
 * Whether a signed-in viewer passes a rule. Pure, so it can be unit-tested apart from GraphQL.
 * `ownerId` is the account the guarded field belongs to (its parent, when that is a user), for `self`.
 */
export function ruleAllows(rule: AuthRule, viewer: { readonly id: string; readonly role: Role }, ownerId: string | undefined): boolean {
  if (!rule.roles || rule.roles.length === 0 || rule.roles.includes(viewer.role)) return true;
  return rule.self === true && ownerId !== undefined && ownerId === viewer.id;
}
