import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TEST_ACCESS_SECRET, TEST_MFA_KEY, TEST_REFRESH_SECRET } from './app';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The real server process (`node src/main.ts`), as an image or `npm run dev` runs it. */
export interface ServerProcess {
  readonly port: number;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  signal(signal: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();

/**
 * The environment of a production process on `database`, listening on 0.0.0.0 at a free port;
 * an `undefined` in `overrides` removes a variable.
 */
export function serverEnv(
  database: { dataDir: string; databaseUrl: string | undefined },
  overrides: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string | undefined> = {
    NODE_ENV: 'production',
    HOST: '0.0.0.0',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: database.dataDir,
    DATABASE_URL: database.databaseUrl,
    JWT_ACCESS_SECRET: TEST_ACCESS_SECRET,
    JWT_REFRESH_SECRET: TEST_REFRESH_SECRET,
    MFA_ENCRYPTION_KEY: TEST_MFA_KEY,
    SMTP_URL: 'log',
    APP_URL: 'https://app.example.test',
    MAIL_FROM: 'no-reply@example.test',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

/**
 * Spawns `node src/main.ts` with exactly `env` and waits for its start-up banner (and, when given,
 * until `ready` holds for its output). Rejects with the output if it exits first.
 */
export async function startServerProcess(
  env: Record<string, string>,
  ready: (output: string) => boolean = () => true,
  /** A command the server runs under, such as `['strace', '-f', '-o', file]`. */
  wrapper: readonly string[] = [],
): Promise<ServerProcess> {
  const command = [...wrapper, process.execPath, '-r', '@swc-node/register', 'src/main.ts'];
  const child = spawn(command[0] ?? process.execPath, command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: string): void => {
      output += chunk;
      const banner = /GraphQL API ready at http:\/\/[^/\s]+:(\d+)\/graphql/.exec(output);
      if (banner && ready(output)) resolve(Number(banner[1]));
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    void exited.then((status) => {
      reject(new Error(`the server exited before it was ready (${JSON.stringify(status)}): ${output}`));
    });
  });
  return { port, pid: child.pid ?? 0, exited, output: () => output, signal: (signal) => child.kill(signal) };
}

/** Runs `node src/main.ts` with exactly `env` (or another entry point) for a start expected to fail: its exit status and output. */
export async function runUntilExit(
  env: Record<string, string>,
  entry = 'src/main.ts',
  args: string[] = [],
): Promise<Exit & { output: string }> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', entry, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stdin.end(`correct horse battery staple\n`);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, output });
    }),
  );
}

/** For afterAll: kills (SIGKILL) every server process a test left running, and waits for each. */
export async function killServerProcesses(): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
}
