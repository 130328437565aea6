import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, type DirectiveDefinitionNode, type DocumentNode, type ObjectTypeDefinitionNode } from 'graphql';
import { buildAppSchema, printAppSchema, printRoleSchema, roleSchemaFile, SCHEMA_AUDIENCES } from '../../src/schema';

const committed = readFileSync(path.resolve(__dirname, '..', '..', 'schema.graphql'), 'utf8');
const document: DocumentNode = parse(committed);

/** The applied directives of `Type.field` in the committed schema, as printed SDL. */
function directivesOf(typeName: string, fieldName: string): string[] {
  const type = document.definitions.find(
    (definition): definition is ObjectTypeDefinitionNode =>
      definition.kind === Kind.OBJECT_TYPE_DEFINITION && definition.name.value === typeName,
  );
  const field = type?.fields?.find((f) => f.name.value === fieldName);
  if (!field) throw new Error(`${typeName}.${fieldName} is not in schema.graphql`);
  return (field.directives ?? []).map((directive) => print(directive));
}

describe('schema.graphql', () => {
  it('is exactly what the code prints (run `npm run schema:print` if not)', async () => {
    expect(committed).toBe(printAppSchema(await buildAppSchema()));
  });

  it.each(SCHEMA_AUDIENCES)('schema.%s.graphql is exactly what the code prints for that audience', async (audience) => {
    const file = path.resolve(__dirname, '..', '..', roleSchemaFile(audience));
    expect(readFileSync(file, 'utf8')).toBe(printRoleSchema(await buildAppSchema(), audience));
  });

  it('declares the @authorized directive', () => {
    const declaration = document.definitions.find(
      (definition): definition is DirectiveDefinitionNode =>
        definition.kind === Kind.DIRECTIVE_DEFINITION && definition.name.value === 'authorized',
    );
    expect(declaration).toBeDefined();
    expect(declaration?.arguments?.map((arg) => arg.name.value).sort()).toEqual(['roles', 'self']);
    expect(declaration?.locations.map((location) => location.value)).toContain('FIELD_DEFINITION');
  });

  it.each([
    ['Query', 'me', '@authorized'],
    ['Query', 'users', '@authorized(roles: [MODERATOR, ADMIN])'],
    ['User', 'email', '@authorized(roles: [MODERATOR, ADMIN], self: true)'],
    ['User', 'isActive', '@authorized(roles: [MODERATOR, ADMIN])'],
    ['User', 'lastLoginAt', '@authorized(roles: [MODERATOR, ADMIN])'],
  ])('shows %s.%s as %s', (type, field, directive) => {
    expect(directivesOf(type, field)).toEqual([directive]);
  });

  it.each([
    ['User', 'id'],
    ['User', 'name'],
    ['User', 'role'],
    ['User', 'createdAt'],
    ['Mutation', 'signup'],
    ['Mutation', 'login'],
    ['Mutation', 'refreshToken'],
  ])('leaves the public field %s.%s unguarded', (type, field) => {
    expect(directivesOf(type, field)).toEqual([]);
  });
});
