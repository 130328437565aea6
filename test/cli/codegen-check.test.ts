import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSchema } from 'graphql';
import { USER_APP_CLIENT } from '../../codegen';
import { codegenCheck } from '../../scripts/codegen-check';

const ROOT = path.resolve(__dirname, '..', '..');
const schemaText = readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8');
let dir: string;

/** A copy of schema.graphql with one edit; the edit must apply, or the test proves nothing. */
function schemaWith(name: string, from: string | RegExp, to: string): string {
  const edited = schemaText.replace(from, to);
  if (edited === schemaText) throw new Error(`${String(from)} is not in schema.graphql`);
  const file = path.join(dir, `${name}.graphql`);
  writeFileSync(file, edited);
  return file;
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'codegen-check-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run codegen:check', () => {
  it('passes on the committed schema, @authorized and all, with examples/generated up to date', async () => {
    // Strict tools (graphql-js without assumeValidSDL) accept the SDL: @authorized is declared.
    expect(() => buildSchema(schemaText)).not.toThrow();
    expect(schemaText).toMatch(/^directive @authorized\(/m);
    await expect(codegenCheck()).resolves.toEqual({ ok: true, problems: [] });
  });

  it('exits non-zero naming the field when the schema drops a field the operations select', async () => {
    // The field and its description line.
    const schema = schemaWith('no-email', /^ {2}"{3}[^\n]*"{3}\n {2}email: String @authorized.*\n/m, '');
    const failure = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-r', '@swc-node/register', 'scripts/codegen-check.ts', '--schema', schema],
        { cwd: ROOT, timeout: 90_000 },
        (error, _stdout, stderr) => {
          resolve({ code: error ? (error.code as number | null) : 0, stderr });
        },
      );
    });
    expect(failure.code).toBe(1);
    expect(failure.stderr).toContain('Cannot query field "email" on type "User"');
    expect(failure.stderr).toContain('examples/operations/viewer.graphql');
  }, 120_000);

  it('fails when an argument the operations pass is renamed', async () => {
    const result = await codegenCheck({ schema: schemaWith('renamed-arg', /^ {4}search: String$/m, '    query: String') });
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toContain('Unknown argument "search" on field "Query.users"');
  });

  it('fails type-checking the consumer when a field it relies on becomes nullable', async () => {
    // Valid for every operation, so only the TypeScript consumer can notice.
    const result = await codegenCheck({ schema: schemaWith('nullable-name', /(\n {2}mfaEnabled: .*\n {2}name: String)!/, '$1') });
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(
      /examples\/operations\/consumer\.ts\(\d+,\d+\): error TS18047: 'me\.name' is possibly 'null'/,
    );
  });

  it('fails when the committed examples/generated is not what codegen writes', async () => {
    const schema = schemaWith('new-role', /^enum Role \{\n/m, 'enum Role {\n  AUDITOR\n');
    const result = await codegenCheck({ schema, compareWithCommitted: true });
    expect(result.ok).toBe(false);
    const problems = result.problems.join('\n');
    expect(problems).toContain('examples/generated/ is stale (examples/generated/graphql.ts)');
    // The exhaustive switch over Role in the consumer notices the new role too.
    expect(problems).toMatch(/consumer\.ts\(\d+,\d+\): error TS2366/);
  });
});

describe('the USER app generated from schema.USER.graphql', () => {
  it('is up to date and compiles', async () => {
    await expect(codegenCheck({ client: USER_APP_CLIENT })).resolves.toEqual({ ok: true, problems: [] });
  });

  it('fails codegen validation on an ADMIN-only operation', async () => {
    // examples/operations/admin.graphql: users, user, setUserRole, auditLog... all valid against schema.graphql.
    const result = await codegenCheck({ client: USER_APP_CLIENT, extraDocuments: ['examples/operations/admin.graphql'] });
    expect(result.ok).toBe(false);
    const problems = result.problems.join('\n');
    expect(problems).toContain('do not match schema.USER.graphql');
    expect(problems).toContain('Cannot query field "auditLog" on type "Query"');
    expect(problems).toContain('Cannot query field "setUserRole" on type "Mutation"');
    expect(problems).toContain('examples/operations/admin.graphql');
  });

  it('fails to compile a consumer that imports an ADMIN-only query', async () => {
    // Handed to the compiler in memory, as if written next to the app's own code.
    const consumer = (dir: string, generated: string): ReadonlyMap<string, string> =>
      new Map([
        [
          path.join(ROOT, dir, 'admin-only.ts'),
          `import { AuditLogDocument } from '${generated}';\nexport const query = AuditLogDocument;\n`,
        ],
      ]);
    const result = await codegenCheck({
      client: USER_APP_CLIENT,
      extraConsumers: consumer(USER_APP_CLIENT.consumers, './generated/graphql'),
    });
    expect(result.ok).toBe(false);
    expect(result.problems.join('\n')).toMatch(
      /examples\/user-app\/admin-only\.ts\(1,10\): error TS2305: Module '"\.\/generated\/graphql"' has no exported member 'AuditLogDocument'/,
    );
    // The same import compiles in the example client generated from the whole schema.
    await expect(codegenCheck({ extraConsumers: consumer('examples/operations', '../generated/graphql') })).resolves.toEqual({
      ok: true,
      problems: [],
    });
  });
});
