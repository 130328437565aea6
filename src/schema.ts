import { getDirective, MapperKind, mapSchema, printSchemaWithDirectives, pruneSchema } from '@graphql-tools/utils';
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
import type { AuthRule } from './access/auth.decorator';
import { Role } from './access/role';
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

/** Who a role schema is printed for: each role, and a client without a session. */
export type SchemaAudience = 'ANONYMOUS' | Role;
export const SCHEMA_AUDIENCES: readonly SchemaAudience[] = ['ANONYMOUS', Role.USER, Role.MODERATOR, Role.ADMIN];

/** The file `schema:print` writes for an audience, at the repository root. */
export function roleSchemaFile(audience: SchemaAudience): string {
  return `schema.${audience}.graphql`;
}

/**
 * Whether a field guarded by `rule` can ever answer `audience`. Without a session only the unguarded
 * operations run; but signup, login and the other sign-in operations answer as the account they just
 * signed in (RequestAuth.signedInAs), so below the root an anonymous client reads what a USER reads
 * (signup always creates a USER; a staff app signs in with its own role's schema).
 */
export function audienceMayUse(audience: SchemaAudience, rule: AuthRule | undefined, isRootField: boolean): boolean {
  if (rule === undefined) return true;
  if (audience === 'ANONYMOUS') return !isRootField && audienceMayUse(Role.USER, rule, false);
  return !rule.roles?.length || rule.roles.includes(audience) || rule.self === true;
}

/**
 * The schema without the operations and fields `audience` can never use, read from the `@authorized`
 * directive that `Auth` applies with the rule it enforces; types no longer reachable are dropped.
 */
export function roleSchema(schema: GraphQLSchema, audience: SchemaAudience): GraphQLSchema {
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((type) => type?.name));
  const filtered = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (field, _name, typeName) => {
      const rule = getDirective(schema, field, 'authorized')?.[0] as AuthRule | undefined;
      return audienceMayUse(audience, rule, roots.has(typeName)) ? field : null;
    },
  });
  return pruneSchema(filtered);
}

/** The text of schema.<audience>.graphql. */
export function printRoleSchema(schema: GraphQLSchema, audience: SchemaAudience): string {
  const header =
    `# Generated from the code by \`npm run schema:print\`; do not edit. \`npm run schema:check\` compares.\n` +
    `# What ${audience === 'ANONYMOUS' ? 'a client without a session' : `a signed-in ${audience}`} may use: schema.graphql without ` +
    `the operations and fields its @authorized rules never admit.\n\n`;
  return header + printSchemaWithDirectives(lexicographicSortSchema(roleSchema(schema, audience))).trim() + '\n';
}

/** Every schema file `schema:print` writes (repository-relative name -> text). */
export function printSchemaFiles(schema: GraphQLSchema): Map<string, string> {
  return new Map([
    ['schema.graphql', printAppSchema(schema)],
    ...SCHEMA_AUDIENCES.map((audience): [string, string] => [roleSchemaFile(audience), printRoleSchema(schema, audience)]),
  ]);
}
