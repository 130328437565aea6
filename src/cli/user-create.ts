import 'reflect-metadata';
import { IsEnum, validate } from 'class-validator';
import { createInterface } from 'node:readline';
import type { ReadStream } from 'node:tty';
import { parseArgs } from 'node:util';
import { isRole, Role } from '../access/role';
import { ConfigError, loadConfig } from '../config/config';
import { PasswordHasher } from '../credentials/password.hasher';
import { DataDirInUse } from '../db/data-dir-lock';
import { openDatabase } from '../db/orm';
import { describeThrown, InvalidInput } from '../errors';
import { createLogger } from '../logger';
import { UserService } from '../users/user.service';
import { validationFields } from '../validation/fields';
import { IsAccountEmail, IsDisplayName, IsNewPassword } from '../validation/validators';

const ROLES = Object.values(Role);

const USAGE = `Usage: npm run user:create -- --email <email> --role <${ROLES.join('|')}> [--name <name>]
       node dist/cli/user-create.js --email <email> --role <role> [--name <name>]

Creates an account, with the same rules as signup, in the database the server uses
(DATABASE_URL, or the embedded database under DATA_DIR). Migrations are applied first.

The password is read from a hidden prompt (asked twice) when stdin is a terminal,
otherwise from the first line of stdin:
  echo 'a long password' | npm run user:create -- --email admin@example.com --role ADMIN

Options:
  --email <email>  the account's email (stored trimmed and lower-cased)
  --role <role>    ${ROLES.join(', ')}
  --name <name>    display name (default: the part of the email before @)
  -h, --help       show this help

Prints the new user's id and email; exits 1 on a bad argument, a taken email or a bad password.
`;

/** A failure the operator can act on: one line on stderr, no stack. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The signup rules (validation/validators.ts), applied to the command line instead of a GraphQL input. */
class NewUserArguments {
  @IsAccountEmail()
  email!: string;

  @IsDisplayName()
  name!: string;

  @IsEnum(Role, { message: `must be one of ${ROLES.join(', ')}` })
  role!: string;

  @IsNewPassword('email')
  password?: string;
}

const FLAG_OF: Record<string, string> = { email: '--email', name: '--name', role: '--role', password: 'password' };

/** Throws a one-line CliError naming every offending argument (skips `password` while it is unset). */
async function check(args: NewUserArguments): Promise<void> {
  const errors = await validate(args, { skipUndefinedProperties: true, forbidUnknownValues: false });
  if (errors.length > 0) throw invalid(validationFields(errors));
}

function invalid(fields: Readonly<Record<string, string>>): CliError {
  return new CliError(
    Object.entries(fields)
      .map(([field, message]) => `${FLAG_OF[field] ?? field} ${message}`)
      .join('; '),
  );
}

function parseArguments(argv: string[]): NewUserArguments | 'help' {
  let values: { email?: string; role?: string; name?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        email: { type: 'string' },
        role: { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new CliError(`${(error as Error).message} (see --help)`);
  }
  if (values.help) return 'help';
  const { email, role, name } = values;
  if (email === undefined || role === undefined) {
    const missing = [email === undefined ? '--email' : undefined, role === undefined ? '--role' : undefined].filter(Boolean);
    throw new CliError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required (see --help)`);
  }
  const args = new NewUserArguments();
  args.email = email;
  args.role = role.trim().toUpperCase();
  args.name = name ?? email.trim().split('@')[0] ?? '';
  return args;
}

/** The first line of piped stdin, without its line ending. */
async function readFirstLine(input: NodeJS.ReadStream): Promise<string> {
  const lines = createInterface({ input, crlfDelay: Infinity, terminal: false });
  try {
    for await (const line of lines) return line;
  } finally {
    lines.close();
    // Nothing more is read; an open pipe must not keep the process alive.
    input.destroy();
  }
  throw new CliError('no password on stdin (pipe it as the first line, or run from a terminal to be prompted)');
}

/** Reads one line from the terminal without echoing it. */
function readHidden(input: ReadStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: CliError): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string): void => {
      // Arrow and function keys arrive as one escape sequence: not part of a password.
      if (chunk.startsWith('\u001b')) return;
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          finish();
          return;
        }
        if (char === '\u0003' || (char === '\u0004' && value === '')) {
          finish(new CliError('cancelled', 130));
          return;
        }
        if (char === '\u007f' || char === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (char === '\u0015') value = '';
        else if (char >= ' ') value += char;
      }
    };
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}

async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  return stdin.isTTY ? readHidden(stdin, 'Password: ') : readFirstLine(stdin);
}

async function confirmPassword(password: string): Promise<void> {
  if (!process.stdin.isTTY) return;
  const again = await readHidden(process.stdin, 'Password (again): ');
  if (again !== password) throw new CliError('the passwords do not match');
}

async function run(argv: string[]): Promise<void> {
  const args = parseArguments(argv);
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  await check(args);

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`configuration error: ${error.message}`);
    throw error;
  }

  args.password = await readPassword();
  // Checked before the confirmation, so a too-short password is not typed twice for nothing.
  await check(args);
  await confirmPassword(args.password);

  // Log records (the ORM's included) go to stderr: stdout carries only the result.
  const logger = createLogger(config, process.stderr);
  let orm;
  try {
    orm = await openDatabase(config, logger);
  } catch (error) {
    if (error instanceof DataDirInUse) {
      throw new CliError(
        `${error.message}. Stop the server first and run this again, or create the account through the API ` +
          `(signup, then setUserRole as an ADMIN) while it runs`,
      );
    }
    throw error;
  }
  const passwords = new PasswordHasher(config.bcryptCost);
  try {
    if (!isRole(args.role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
    const users = new UserService(passwords);
    const user = await users.create(orm.em.fork(), { email: args.email, name: args.name, password: args.password, role: args.role });
    process.stdout.write(`Created ${user.role} user ${user.email} with id ${user.id}\n`);
  } catch (error) {
    if (error instanceof InvalidInput) throw invalid(error.fields);
    throw error;
  } finally {
    await passwords.close();
    await orm.close(true);
  }
}

run(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof CliError ? error.message : `failed: ${describeThrown(error)}`;
  process.stderr.write(`user:create: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = error instanceof CliError ? error.exitCode : 1;
});
