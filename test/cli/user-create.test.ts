import { spawn } from 'node:child_process';
import path from 'node:path';
import { dropDatabases, freshDatabase, startTestApp, testEnv } from '../helpers/app';
import { logIn, PASSWORD, uniqueEmail } from '../helpers/factories';
import { gql } from '../helpers/graphql';

const ROOT = path.resolve(__dirname, '..', '..');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let database: Awaited<ReturnType<typeof freshDatabase>>;

/** Runs `npm run user:create` as an operator would, with `stdin` piped in. */
function userCreate(args: string[], stdin: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/cli/user-create.ts', ...args], {
      cwd: ROOT,
      env: testEnv(database),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

const ADMIN_EMAIL = uniqueEmail('cli-admin');
let created: CliResult;

beforeAll(async () => {
  database = await freshDatabase();
  // The second line shows that only the first one is the password.
  created = await userCreate(
    ['--email', `  ${ADMIN_EMAIL.toUpperCase()} `, '--role', 'ADMIN', '--name', 'Ann'],
    `${PASSWORD}\nnot the password\n`,
  );
});
afterAll(async () => {
  await dropDatabases(database);
});

describe('npm run user:create', () => {
  it('creates the account and prints its id and email, never the password', () => {
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(ADMIN_EMAIL);
    expect(created.stdout).toMatch(UUID);
    expect(created.stdout).not.toContain(PASSWORD);
    expect(created.stdout).not.toContain('$2');
  });

  it('makes an ADMIN who logs in over GraphQL with the first piped line and sees role ADMIN in me', async () => {
    const app = await startTestApp({ database });
    try {
      const admin = await logIn(app, ADMIN_EMAIL, PASSWORD);
      const me = await gql(app, `query { me { id email name role } }`, {}, { token: admin.accessToken });
      expect(me.errors).toBeUndefined();
      expect(me.data?.['me']).toEqual({ id: UUID.exec(created.stdout)?.[0], email: ADMIN_EMAIL, name: 'Ann', role: 'ADMIN' });

      const users = await gql(app, `query { users(role: ADMIN) { totalCount } }`, {}, { token: admin.accessToken });
      expect(users.errors).toBeUndefined();
      expect(users.data?.['users'].totalCount).toBe(1);
    } finally {
      await app.stop();
    }
  });

  it('refuses an email that is taken, in any case, and exits 1', async () => {
    const result = await userCreate(['--email', ADMIN_EMAIL.toUpperCase(), '--role', 'USER'], `${PASSWORD}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('user:create: --email is already registered\n');
    expect(result.stdout).toBe('');
  });

  it('refuses a password shorter than 8 characters and exits 1', async () => {
    const result = await userCreate(['--email', uniqueEmail('cli-short'), '--role', 'USER'], 'seven77\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('user:create: password must be between 8 and 256 characters\n');
    expect(result.stdout).toBe('');
  });

  it('refuses a common password and the email as password, with the signup rules, and exits 1', async () => {
    const email = uniqueEmail('cli-common');
    const [common, ownEmail] = await Promise.all([
      userCreate(['--email', email, '--role', 'USER'], 'iloveyou12\n'),
      userCreate(['--email', email, '--role', 'USER'], `${email.toUpperCase()}\n`),
    ]);
    expect(common).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'user:create: password is too common; choose a less guessable password\n',
    });
    expect(ownEmail).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'user:create: password must not be your email address or the part before the @\n',
    });
  });

  it('refuses an unknown role and exits 1', async () => {
    const result = await userCreate(['--email', uniqueEmail('cli-role'), '--role', 'SUPERUSER'], `${PASSWORD}\n`);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('user:create: --role must be one of USER, MODERATOR, ADMIN\n');
    expect(result.stdout).toBe('');
  });

  it('refuses a bad email, a missing --role, an unknown option and an empty stdin, one line each', async () => {
    const [badEmail, noRole, unknown, noPassword] = await Promise.all([
      userCreate(['--email', 'not-an-email', '--role', 'USER'], `${PASSWORD}\n`),
      userCreate(['--email', uniqueEmail('cli')], `${PASSWORD}\n`),
      userCreate(['--email', uniqueEmail('cli'), '--role', 'USER', '--admin'], `${PASSWORD}\n`),
      userCreate(['--email', uniqueEmail('cli'), '--role', 'USER'], ''),
    ]);
    expect(badEmail).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^user:create: --email must be a valid email/) });
    expect(noRole).toMatchObject({ code: 1, stdout: '', stderr: 'user:create: --role is required (see --help)\n' });
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^user:create: Unknown option '--admin'/) });
    expect(noPassword).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^user:create: no password on stdin/) });
    for (const result of [badEmail, noRole, unknown, noPassword]) expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('prints usage with --help and exits 0', async () => {
    const result = await userCreate(['--help'], '');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run user:create -- --email <email> --role <USER\|MODERATOR\|ADMIN>/);
    expect(result.stderr).toBe('');
  });
});
