import type { AuthCheckerFn } from 'type-graphql';
import type { Context } from '../context';
import { User } from '../users/user.entity';
import type { Role } from '../users/role';
import type { AuthRule } from './auth.decorator';

/** Pure rule evaluation, kept apart from GraphQL so it can be unit-tested. */
export function ruleAllows(rule: AuthRule, viewer: { readonly id: string; readonly role: Role }, parent: unknown): boolean {
  if (!rule.roles || rule.roles.length === 0 || rule.roles.includes(viewer.role)) return true;
  return rule.self === true && parent instanceof User && parent.id === viewer.id;
}

/**
 * The one auth checker: resolves the viewer (token verified in the context; user and
 * session state loaded once per request) and evaluates the rule given to `@Auth`.
 * An anonymous or revoked viewer gets UNAUTHENTICATED with its reason; a signed-in
 * viewer without the right role gets false, which type-graphql turns into FORBIDDEN.
 */
export const authChecker: AuthCheckerFn<Context, AuthRule> = async ({ root, context }, rules) => {
  const { user } = await context.auth.viewer();
  return rules.every((rule) => ruleAllows(rule, user, root));
};
