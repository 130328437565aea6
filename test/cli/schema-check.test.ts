// `npm run schema:print` writes schema.graphql and the per-role schemas; `schema:check` fails naming
// each file that no longer matches the code. Run here against a scratch directory (`--dir`).
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
let dir: string;

function schemaCli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', '@swc-node/register', 'src/cli/schema-print.ts', '--dir', dir, ...args],
      { cwd: ROOT, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'schema-check-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('prints the public schema and one per role, then fails the check naming the file that changed', async () => {
  expect((await schemaCli()).code).toBe(0);
  const expected = [
    'schema.graphql',
    'schema.ANONYMOUS.graphql',
    'schema.USER.graphql',
    'schema.MODERATOR.graphql',
    'schema.ADMIN.graphql',
  ];
  expect(readdirSync(dir).sort()).toEqual([...expected].sort());
  // What it wrote is what is committed.
  for (const file of expected)
    expect([file, readFileSync(path.join(dir, file), 'utf8')]).toEqual([file, readFileSync(path.join(ROOT, file), 'utf8')]);
  expect(await schemaCli('--check')).toMatchObject({ code: 0 });

  appendFileSync(path.join(dir, 'schema.USER.graphql'), '\ntype Stale { id: ID }\n');
  const stale = await schemaCli('--check');
  expect(stale.code).toBe(1);
  expect(stale.stderr).toContain('schema.USER.graphql differs from the schema built from the code');
  expect(stale.stderr).not.toContain('schema.ADMIN.graphql');

  rmSync(path.join(dir, 'schema.ANONYMOUS.graphql'));
  expect((await schemaCli('--check')).stderr).toContain('schema.ANONYMOUS.graphql, schema.USER.graphql differ');
}, 300_000);
