// The bench scripts' last line of defence (bench/lib/fatal.ts): a failure nobody caught ends the
// process with exit code 1, a readable line naming the script and the error, and the clean-up run
// (the soak once exited with code 7, no message and its servers and database left behind).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function runFixture(failure: string, marker: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'test/bench/fatal-fixture.ts'], {
      cwd: ROOT,
      env: { ...process.env, FATAL_CASE: failure, FATAL_MARKER: marker },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the fixture did not exit within 30 s: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(deadline);
      resolve({ code, stderr });
    });
  });
}

describe('a bench script that fails where nothing catches it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bench-fatal-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['throw', 'uncaught exception', 'boom in a timer'],
    ['reject', 'unhandled promise rejection', 'boom in a promise'],
    ['stream-error', 'uncaught exception', 'boom on a stream'],
  ])('%s: says what failed, cleans up, exits 1', async (failure, kind, message) => {
    const marker = path.join(dir, 'cleaned');
    const { code, stderr } = await runFixture(failure, marker);
    expect(code).toBe(1);
    expect(stderr).toContain(`fixture failed (${kind}): Error: ${message}`);
    expect(existsSync(marker)).toBe(true);
  });

  it('a clean-up that fails too is reported and still exits 1, not 7', async () => {
    const { code, stderr } = await runFixture('cleanup-throws', path.join(dir, 'cleaned'));
    expect(code).toBe(1);
    expect(stderr).toContain('fixture failed (uncaught exception): Error: boom before a broken clean-up');
    expect(stderr).toContain('fixture: clean-up failed: Error: clean-up broke');
  });
});
