import { getDirective, mapSchema, MapperKind } from '@graphql-tools/utils';
import { introspectionFromSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';
import { authorizedDirectiveSdl, type AuthRule } from '../access/auth.decorator';
import type { Role } from '../access/role';

/** Who a rule admits, in words. */
function admitted(rule: AuthRule): string {
  const who = rule.roles?.length ? `a signed-in ${rule.roles.join(' or ')}` : 'any signed-in user';
  return rule.self ? `${who}, or the user this field belongs to` : who;
}

/** The line the explorer's docs add to a guarded field's description. */
export function authorizationNote(rule: AuthRule): string {
  return `**Authorization:** \`${authorizedDirectiveSdl(rule)}\`: ${admitted(rule)}; anyone else gets null and UNAUTHENTICATED or FORBIDDEN.`;
}

/**
 * The introspection result the explorer's docs pane shows. Introspection carries no applied
 * directives, so each field that `@authorized` guards gets its rule appended to its description, in
 * the words of schema.graphql's directive; the schema clients query is left as it is.
 */
export function explorerIntrospection(schema: GraphQLSchema): IntrospectionQuery {
  const documented = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field) => {
      const [applied] = getDirective(schema, field, 'authorized') ?? [];
      if (!applied) return field;
      const rule: AuthRule = { roles: applied['roles'] as Role[] | undefined, self: applied['self'] === true };
      const note = authorizationNote(rule);
      return { ...field, description: field.description ? `${field.description}\n\n${note}` : note };
    },
  });
  return introspectionFromSchema(documented, { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true });
}
