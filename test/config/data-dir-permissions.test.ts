// DATA_DIR holds the embedded database and the development signing secrets: the server creates it
// 0700 and its files 0600, and refuses to start on a DATA_DIR or secrets.json that group or others
// can reach, naming the path and the chmod that fixes it.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { killServerProcesses, runUntilExit, serverEnv, startServerProcess } from '../helpers/server-process';

const parents: string[] = [];
afterAll(async () => {
  await killServerProcesses();
  for (const dir of parents) rmSync(dir, { recursive: true, force: true });
});

function parentDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'auth-data-dir-'));
  parents.push(dir);
  return dir;
}

/** A development server on the embedded database under `dataDir`, its secrets generated there. */
function developmentEnv(dataDir: string): Record<string, string> {
  return serverEnv(
    { dataDir, databaseUrl: undefined },
    { NODE_ENV: 'development', LOG_FORMAT: 'json', BCRYPT_COST: '4', JWT_ACCESS_SECRET: undefined, JWT_REFRESH_SECRET: undefined },
  );
}

const modeOf = (file: string): number => statSync(file).mode & 0o777;

describe('DATA_DIR permissions', () => {
  it('creates DATA_DIR 0700, secrets.json and pglite.pid 0600', async () => {
    const dataDir = path.join(parentDir(), 'data');
    const server = await startServerProcess(developmentEnv(dataDir));
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'secrets.json'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'pglite.pid'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'pglite'))).toBe(0o700);
    server.signal('SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 120_000);

  it.each([0o755, 0o770, 0o701])(
    'refuses a DATA_DIR of mode %o, naming it and the chmod to run',
    async (mode) => {
      const dataDir = parentDir();
      chmodSync(dataDir, mode);
      const result = await runUntilExit(serverEnv({ dataDir, databaseUrl: undefined }));
      expect(result.code).toBe(1);
      expect(result.output).toContain(`Configuration error: DATA_DIR`);
      expect(result.output).toContain(`${dataDir} is open to group or others (mode ${mode.toString(8)}): run chmod 700 ${dataDir}`);
      expect(result.output).not.toContain('GraphQL API ready');
    },
    60_000,
  );

  it('refuses a secrets.json that group or others can read, naming it and the chmod to run', async () => {
    const dataDir = parentDir();
    const file = path.join(dataDir, 'secrets.json');
    writeFileSync(file, JSON.stringify({ access: 'a'.repeat(64), refresh: 'b'.repeat(64) }), { mode: 0o644 });
    chmodSync(file, 0o644);
    const result = await runUntilExit(developmentEnv(dataDir));
    expect(result.code).toBe(1);
    expect(result.output).toContain(`${file} is open to group or others (mode 644): run chmod 600 ${file}`);
    expect(result.output).not.toContain('GraphQL API ready');
  }, 60_000);
});
