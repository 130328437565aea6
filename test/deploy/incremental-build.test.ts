// `npm start` and `npm run build` compile incrementally (scripts/build.mjs): nothing is compiled again
// when no source changed, and what a deleted or moved source once emitted does not outlive it. Run on a
// scratch project with the repository's tsconfig files and node_modules.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const BUILD = path.join(ROOT, 'scripts', 'build.mjs');
let project: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: project, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error.code as number | null) ?? 1) : 0, stdout, stderr });
    });
  });
}

const build = (): Promise<Run> => run([BUILD]);
const inProject = (...parts: string[]): string => path.join(project, ...parts);
const mtime = (...parts: string[]): number => statSync(inProject(...parts)).mtimeMs;
function write(file: string, text: string): void {
  mkdirSync(path.dirname(inProject(file)), { recursive: true });
  writeFileSync(inProject(file), text);
}

beforeAll(() => {
  project = mkdtempSync(path.join(tmpdir(), 'incremental-build-'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) copyFileSync(path.join(ROOT, file), inProject(file));
  symlinkSync(path.join(ROOT, 'node_modules'), inProject('node_modules'), 'dir');
  write('src/main.ts', "import { probe } from './probe';\nprocess.stdout.write(probe);\n");
  write('src/probe.ts', "export const probe = 'the file';\n");
});
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('scripts/build.mjs', () => {
  it('compiles, then leaves dist/ untouched while no source changes', async () => {
    expect(await build()).toMatchObject({ code: 0 });
    expect((await run(['dist/main.js'])).stdout).toBe('the file');
    const before = [mtime('dist', 'main.js'), mtime('dist', 'probe.js'), mtime('dist', '.tsbuildinfo')];
    expect(await build()).toMatchObject({ code: 0 });
    expect([mtime('dist', 'main.js'), mtime('dist', 'probe.js'), mtime('dist', '.tsbuildinfo')]).toEqual(before);
  }, 240_000);

  it('recompiles a changed source', async () => {
    write('src/probe.ts', "export const probe = 'the edited file';\n");
    expect(await build()).toMatchObject({ code: 0 });
    expect((await run(['dist/main.js'])).stdout).toBe('the edited file');
  }, 240_000);

  it('removes the outputs of a moved source, which would otherwise shadow the new one', async () => {
    // src/probe.ts -> src/probe/index.ts: a stale dist/probe.js would win require('./probe').
    mkdirSync(inProject('src', 'probe'));
    renameSync(inProject('src', 'probe.ts'), inProject('src', 'probe', 'index.ts'));
    write('src/probe/index.ts', "export const probe = 'the folder';\n");
    const moved = await build();
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('removed the outputs of deleted sources: dist/probe.js, dist/probe.js.map');
    expect(existsSync(inProject('dist', 'probe.js'))).toBe(false);
    expect((await run(['dist/main.js'])).stdout).toBe('the folder');
  }, 240_000);

  it('emits again an output deleted by hand', async () => {
    rmSync(inProject('dist', 'main.js'));
    expect(await build()).toMatchObject({ code: 0 });
    expect((await run(['dist/main.js'])).stdout).toBe('the folder');
  }, 240_000);

  it('exits non-zero on a type error, so that npm start (build && node) does not run the old dist/main.js', async () => {
    write('src/probe/index.ts', 'export const probe: number = "not a number";\n');
    const failed = await build();
    expect(failed.code).not.toBe(0);
    expect(failed.stdout + failed.stderr).toContain('error TS2322');
  }, 240_000);
});

describe('package.json', () => {
  it('starts through the incremental build and never deletes dist/ first', async () => {
    const { scripts } = (await import(path.join(ROOT, 'package.json'))) as { scripts: Record<string, string> };
    expect(scripts['start']).toBe('node scripts/build.mjs && node dist/main.js');
    expect(scripts['build']).toBe('node scripts/build.mjs');
  });
});
