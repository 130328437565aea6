import type { AuthCheckerFn } from 'type-graphql';
import type { AuthRule } from '../access/auth.decorator';
import { ruleAllows } from '../access/rules';
import type { Context } from '../context';
import { User } from '../users/user.entity';
import { UserSnapshot } from '../users/user.snapshot';

/** The account a guarded field belongs to, for `self` rules: its parent when that is a user (an entity, or the viewer's snapshot). */
export function accountOwning(parent: unknown): string | undefined {
  return parent instanceof User || parent instanceof UserSnapshot ? parent.id : undefined;
}

/**
 * The one auth checker: resolves the viewer (token verified in the context; user and
 * session state loaded once per request) and evaluates the rule given to `@Auth`.
 * An anonymous or revoked viewer gets UNAUTHENTICATED with its reason; a signed-in
 * viewer without the right role gets false, which type-graphql turns into FORBIDDEN.
 */
export const authChecker: AuthCheckerFn<Context, AuthRule> = async ({ root, context }, rules) => {
  const { user } = await context.auth.viewer();
  const owner = accountOwning(root);
  return rules.every((rule) => ruleAllows(rule, user, owner));
};
