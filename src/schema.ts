import { printSchemaWithDirectives } from '@graphql-tools/utils';
import {
  DirectiveLocation,
  GraphQLBoolean,
  GraphQLDirective,
  GraphQLEnumType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLSchema,
  lexicographicSortSchema,
} from 'graphql';
import { buildSchema, type ContainerType } from 'type-graphql';
import { AdminResolver } from './admin/admin.resolver';
import { AuditResolver } from './audit/audit.resolver';
import { authChecker } from './auth/auth-checker';
import { AuthResolver } from './auth/auth.resolver';
import { RecoveryResolver } from './auth/recovery.resolver';
import { AuthConfigResolver } from './auth/auth-config.resolver';
import { PasskeyResolver } from './auth/passkey.resolver';
import { SecondFactorResolver } from './auth/second-factor.resolver';
import { SessionResolver } from './sessions/session.resolver';
import { UserResolver } from './users/user.resolver';

/** Every resolver class; createApp registers one instance of each in the container. */
export const RESOLVERS = [
  AuthResolver,
  SecondFactorResolver,
  PasskeyResolver,
  AuthConfigResolver,
  RecoveryResolver,
  UserResolver,
  AdminResolver,
  SessionResolver,
  AuditResolver,
] as const;

/** Declares `@authorized`, whose applications `Auth` puts on guarded fields and operations. */
function authorizedDirective(role: GraphQLEnumType): GraphQLDirective {
  return new GraphQLDirective({
    name: 'authorized',
    description:
      'Who may read this field or run this operation. Without roles: any signed-in user. ' +
      'With roles: a signed-in user with one of them. self: true also admits the user the field belongs to. ' +
      'Anyone else gets null for this field and an error with extensions.code UNAUTHENTICATED or FORBIDDEN.',
    locations: [DirectiveLocation.FIELD_DEFINITION],
    args: {
      roles: { type: new GraphQLList(new GraphQLNonNull(role)) },
      self: { type: GraphQLBoolean, defaultValue: false },
    },
  });
}

/**
 * The schema. `container` holds the resolver and middleware instances createApp wired; without
 * one (printing the schema) nothing is ever resolved.
 */
export async function buildAppSchema(container?: ContainerType): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: RESOLVERS,
    ...(container ? { container } : {}),
    authChecker,
    authMode: 'error',
    validate: { forbidUnknownValues: false, validationError: { target: false, value: false } },
  });
  const role = schema.getType('Role');
  if (!(role instanceof GraphQLEnumType)) throw new Error('the Role enum is missing from the schema');
  const config = schema.toConfig();
  return new GraphQLSchema({ ...config, directives: [...config.directives, authorizedDirective(role)] });
}

/** The text of the committed schema.graphql, applied directives included. */
export function printAppSchema(schema: GraphQLSchema): string {
  const header = '# Generated from the code by `npm run schema:print`; do not edit. `npm run schema:check` compares.\n\n';
  return header + printSchemaWithDirectives(lexicographicSortSchema(schema)).trim() + '\n';
}
