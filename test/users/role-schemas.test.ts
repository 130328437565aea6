// The per-role schemas (schema.<ROLE>.graphql) promise a role-specific client that whatever they leave
// out is refused to that role, and whatever they keep is not refused for its role. This holds them to
// the running server: every root operation and every User field, for each audience, over HTTP.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  getNamedType,
  type GraphQLObjectType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { gql, type GraphQLResponse } from '../helpers/graphql';
import { must } from '../helpers/must';

const ROOT = path.resolve(__dirname, '..', '..');
const load = (file: string): GraphQLSchema => buildSchema(readFileSync(path.join(ROOT, file), 'utf8'));
const full = load('schema.graphql');
const AUDIENCES = ['ANONYMOUS', 'USER', 'MODERATOR', 'ADMIN'] as const;
type Audience = (typeof AUDIENCES)[number];
const roleSchemas = Object.fromEntries(AUDIENCES.map((audience) => [audience, load(`schema.${audience}.graphql`)])) as Record<
  Audience,
  GraphQLSchema
>;

/** A literal the schema accepts for an argument; the value itself never matters here. */
function literal(type: GraphQLInputType): string {
  if (isNonNullType(type)) return literal(type.ofType);
  if (isListType(type)) return `[${literal(type.ofType)}]`;
  if (isEnumType(type)) return must(type.getValues()[0], `a value of ${type.name}`).name;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((field) => isNonNullType(field.type));
    return `{ ${fields.map((field) => `${field.name}: ${literal(field.type)}`).join(', ')} }`;
  }
  if (type.name === 'JSONObject') return '{}';
  if (type.name === 'Int') return '1';
  if (type.name === 'Boolean') return 'true';
  return '"00000000-0000-4000-8000-000000000000"';
}

/** `name(required args) { __typename }`, or without a selection for a scalar result. */
function call(field: GraphQLField<unknown, unknown>): string {
  const args = field.args.filter((arg) => isNonNullType(arg.type)).map((arg) => `${arg.name}: ${literal(arg.type)}`);
  const selection = isObjectType(getNamedType(field.type)) ? ' { __typename }' : '';
  return `${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection}`;
}

/** True when the answer refuses `path` for authorization (not for a missing record or bad input). */
function refused(response: GraphQLResponse<unknown>, fieldPath: string): boolean {
  return (response.errors ?? []).some(
    (error) => (error.path ?? []).join('.') === fieldPath && ['UNAUTHENTICATED', 'FORBIDDEN'].includes(String(error.extensions?.code)),
  );
}

const fieldsOf = (schema: GraphQLSchema, type: string): string[] =>
  Object.keys((schema.getType(type) as GraphQLObjectType | undefined)?.getFields() ?? {}).sort();

let app: TestApp;
const viewers: Partial<Record<Audience, SignedIn>> = {};

beforeAll(async () => {
  app = await startTestApp({ env: { RATE_LIMITS: 'off' } });
  viewers.USER = await signUp(app, { name: 'Role Schema User' });
  viewers.MODERATOR = await userWithRole(app, Role.MODERATOR);
  viewers.ADMIN = await userWithRole(app, Role.ADMIN);
});
afterAll(async () => {
  await stopApps(app);
});

const as = (audience: Audience, query: string): Promise<GraphQLResponse<Record<string, any>>> => {
  const viewer = viewers[audience];
  return gql(app, query, {}, viewer ? { token: viewer.accessToken } : {});
};

describe.each(AUDIENCES)('schema.%s.graphql', (audience) => {
  const schema = roleSchemas[audience];

  it('keeps exactly the queries the server does not refuse to this audience', async () => {
    const queryType = must(full.getQueryType(), 'Query');
    const allowed: string[] = [];
    for (const field of Object.values(queryType.getFields())) {
      if (!refused(await as(audience, `query { ${call(field)} }`), field.name)) allowed.push(field.name);
    }
    expect(fieldsOf(schema, 'Query')).toEqual(allowed.sort());
  });

  it('leaves out only mutations the server refuses to this audience', async () => {
    const mutationType = must(full.getMutationType(), 'Mutation');
    const kept = fieldsOf(schema, 'Mutation');
    const left = Object.values(mutationType.getFields()).filter((field) => !kept.includes(field.name));
    // Refused before they run, so trying them changes nothing.
    for (const field of left) {
      expect([field.name, refused(await as(audience, `mutation { ${call(field)} }`), field.name)]).toEqual([field.name, true]);
    }
    // What is kept and guarded really is for this audience: every guarded mutation is left out
    // for ANONYMOUS, the ADMIN ones for USER and MODERATOR.
    expect(left.length).toBe({ ANONYMOUS: 16, USER: 4, MODERATOR: 4, ADMIN: 0 }[audience]);
  });

  it('keeps exactly the User fields the server does not refuse on the account this audience reads', async () => {
    const userFields = fieldsOf(full, 'User');
    const selection = `{ ${userFields.join(' ')} }`;
    // A client without a session reads a User in the payload of signup (as the account just created).
    const response =
      audience === 'ANONYMOUS'
        ? await as(
            audience,
            `mutation { signup(input: { email: "${uniqueEmail('anonymous')}", password: "${PASSWORD}", name: "Anonymous" }) { user ${selection} } }`,
          )
        : await as(audience, `query { me ${selection} }`);
    const root = audience === 'ANONYMOUS' ? 'signup.user' : 'me';
    expect(response.data?.[audience === 'ANONYMOUS' ? 'signup' : 'me']).not.toBeNull();
    const allowed = userFields.filter((field) => !refused(response, `${root}.${field}`));
    expect(fieldsOf(schema, 'User')).toEqual(allowed);
  });
});

describe('per-role schemas', () => {
  it('drop the types a role can no longer reach', () => {
    for (const audience of ['ANONYMOUS', 'USER', 'MODERATOR'] as const) {
      expect(roleSchemas[audience].getType('AuditEvent')).toBeUndefined();
      expect(roleSchemas[audience].getType('AuditEventConnection')).toBeUndefined();
    }
    expect(roleSchemas.USER.getType('UserConnection')).toBeUndefined();
    expect(roleSchemas.MODERATOR.getType('UserConnection')).toBeDefined();
    expect(roleSchemas.ANONYMOUS.getType('Session')).toBeUndefined();
    expect(roleSchemas.ANONYMOUS.getType('ChangePasswordInput')).toBeUndefined();
    expect(roleSchemas.USER.getType('Session')).toBeDefined();
    // ADMIN may use everything: its schema has every type of schema.graphql.
    expect(Object.keys(roleSchemas.ADMIN.getTypeMap()).sort()).toEqual(Object.keys(full.getTypeMap()).sort());
  });
});
