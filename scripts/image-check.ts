// `npm run image:check`: plays the Dockerfile without Docker, which cannot run here. Each stage gets a
// scratch directory standing for its /app; COPY copies from the repository (refusing what
// .dockerignore leaves out of the build context) or from an earlier stage, ENV and WORKDIR apply, and
// RUN runs in sh with Node 24 first on the PATH (the base image's Node; `chown` is a no-op, there is no
// `node` user here). Then the runtime stage's CMD starts with a production configuration on the
// embedded database and must answer /readyz 200 and stop cleanly on SIGTERM, and the stages must hold
// what they promise: no `node` devDependency binary in build, no dev dependency in runtime.
// It runs `npm ci` twice (from npm's cache when warm): minutes, and the registry must be reachable.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../bench/lib/processes';

const ROOT = path.resolve(__dirname, '..');
const RUN_TIMEOUT_MS = 15 * 60_000;
const READY_WITHIN_MS = 120_000;
const EXIT_WITHIN_MS = 30_000;

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly name: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of lines) {
    const keyword = (line.split(/\s+/, 1)[0] ?? '').toUpperCase();
    const args = line.slice(keyword.length).trim();
    if (keyword === 'FROM') stages.push({ name: /\bAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length), instructions: [] });
    stages.at(-1)?.instructions.push({ keyword, args });
  }
  return stages;
}

/** The .dockerignore entries (plain names and folder prefixes: all this repository uses). */
function dockerignored(relative: string): boolean {
  const entries = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim().replace(/\/$/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));
  return entries.some((entry) => {
    const pattern = new RegExp(`^${entry.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`);
    return pattern.test(relative);
  });
}

class ImagePlay {
  private readonly scratch = mkdtempSync(path.join(os.tmpdir(), 'image-check-'));
  private readonly shims = path.join(this.scratch, 'shims');
  private readonly dirs = new Map<string, string>();
  private readonly log: string[] = [];
  cmd: string[] = [];
  env: Record<string, string> = {};

  constructor() {
    mkdirSync(this.shims);
    writeFileSync(path.join(this.shims, 'chown'), '#!/bin/sh\nexit 0\n');
    chmodSync(path.join(this.shims, 'chown'), 0o755);
  }

  dirOf(stage: string): string {
    const dir = this.dirs.get(stage);
    if (!dir) throw new Error(`no stage ${stage} was played`);
    return dir;
  }

  /** /app/... of a stage -> its scratch directory. */
  private local(dir: string, imagePath: string): string {
    return imagePath.startsWith('/app') ? path.join(dir, imagePath.slice('/app'.length)) : path.resolve(dir, imagePath);
  }

  private copy(dir: string, args: string): void {
    const words = args.split(/\s+/);
    const from = words[0]?.startsWith('--from=') ? words.shift()?.slice('--from='.length) : undefined;
    const destination = words.pop() ?? '';
    const target = this.local(dir, destination);
    for (const source of words) {
      let origin: string;
      if (from === undefined) {
        if (dockerignored(source)) throw new Error(`COPY ${source}: .dockerignore leaves it out of the build context`);
        origin = path.join(ROOT, source);
      } else {
        origin = this.local(this.dirOf(from), source);
      }
      if (!existsSync(origin)) throw new Error(`COPY ${source}: not found`);
      const into = destination.endsWith('/') || words.length > 1 ? path.join(target, path.basename(source)) : target;
      mkdirSync(path.dirname(into), { recursive: true });
      cpSync(origin, into, { recursive: statSync(origin).isDirectory() });
    }
  }

  private run(stage: string, dir: string, command: string): void {
    const script = command.replace(/\/app\b/g, dir);
    this.log.push(`[${stage}] RUN ${command}`);
    process.stdout.write(`[${stage}] RUN ${command}\n`);
    const result = spawnSync('sh', ['-c', script], {
      cwd: dir,
      env: { ...process.env, ...this.env, PATH: `${this.shims}:${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
      stdio: 'inherit',
      timeout: RUN_TIMEOUT_MS,
    });
    if (result.status !== 0)
      throw new Error(`[${stage}] RUN ${command} failed (${result.error?.message ?? `exit ${String(result.status)}`})`);
  }

  play(stage: Stage): void {
    const dir = path.join(this.scratch, stage.name);
    mkdirSync(dir);
    this.dirs.set(stage.name, dir);
    this.env = {};
    for (const { keyword, args } of stage.instructions) {
      if (keyword === 'ENV') {
        for (const match of args.matchAll(/(\w+)=(\S+)/g)) this.env[match[1] ?? ''] = match[2] ?? '';
      } else if (keyword === 'COPY') {
        this.copy(dir, args);
      } else if (keyword === 'RUN') {
        this.run(stage.name, dir, args);
      } else if (keyword === 'CMD') {
        this.cmd = JSON.parse(args) as string[];
      } else if (keyword === 'WORKDIR' && args !== '/app') {
        throw new Error(`WORKDIR ${args}: only /app is played`);
      }
    }
  }

  /** Starts the runtime stage's CMD; resolves once /readyz is 200, then stops it with SIGTERM. */
  async startRuntime(stage: string): Promise<void> {
    const dir = this.dirOf(stage);
    const port = await freePort();
    const secret = (): string => randomBytes(48).toString('base64');
    const env: Record<string, string> = {
      PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`,
      ...this.env,
      DATA_DIR: this.local(dir, this.env['DATA_DIR'] ?? '/app/.data'),
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_ACCESS_SECRET: secret(),
      JWT_REFRESH_SECRET: secret(),
      MFA_ENCRYPTION_KEY: secret(),
      APP_URL: 'https://app.example.com',
      SMTP_URL: 'log',
      MAIL_FROM: 'no-reply@example.com',
    };
    const [command, ...args] = this.cmd;
    if (command !== 'node') throw new Error(`CMD ${JSON.stringify(this.cmd)}: expected node`);
    process.stdout.write(`[${stage}] CMD ${this.cmd.join(' ')} (production, embedded database, port ${String(port)})\n`);
    const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        resolve(code);
      }),
    );
    const started = Date.now();
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the runtime stage exited during start-up:\n${output}`);
        if (Date.now() - started > READY_WITHIN_MS)
          throw new Error(`the runtime stage was not ready within ${String(READY_WITHIN_MS)} ms:\n${output}`);
        const ready = await fetch(`http://127.0.0.1:${String(port)}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
          (res) => res.status === 200,
          () => false,
        );
        if (ready) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      process.stdout.write(`[${stage}] /readyz 200 after ${String(Date.now() - started)} ms\n`);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await Promise.race([
      exited,
      new Promise<'timeout'>((resolve) =>
        setTimeout(() => {
          resolve('timeout');
        }, EXIT_WITHIN_MS),
      ),
    ]);
    if (code === 'timeout') {
      child.kill('SIGKILL');
      throw new Error('the runtime stage did not exit within 30 s of SIGTERM');
    }
    if (code !== 0) throw new Error(`the runtime stage exited with ${String(code)} on SIGTERM:\n${output}`);
  }

  cleanUp(): void {
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** What each stage must (not) hold. */
function checkStages(play: ImagePlay, runtime: string): void {
  const build = play.dirOf('build');
  const problems: string[] = [];
  if (existsSync(path.join(build, 'node_modules', '.bin', 'node'))) problems.push('build: the node devDependency installed its binary');
  if (!existsSync(path.join(build, 'dist', 'main.js'))) problems.push('build: no dist/main.js');
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const runtimeDir = play.dirOf(runtime);
  const devInRuntime = Object.entries(lock.packages)
    .filter(([name, entry]) => entry.dev === true && name.startsWith('node_modules/') && existsSync(path.join(runtimeDir, name)))
    .map(([name]) => name);
  if (devInRuntime.length > 0) problems.push(`runtime: dev dependencies present: ${devInRuntime.slice(0, 10).join(', ')}`);
  if (!existsSync(path.join(runtimeDir, 'node_modules', 'graphql'))) problems.push('runtime: production dependencies missing');
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

async function main(): Promise<void> {
  const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1)?.name;
  if (!runtime) throw new Error('the Dockerfile has no stage');
  const play = new ImagePlay();
  try {
    for (const stage of stages) play.play(stage);
    checkStages(play, runtime);
    await play.startRuntime(runtime);
    process.stdout.write(`image check passed: ${stages.map((stage) => stage.name).join(' -> ')}\n`);
  } finally {
    if (process.env['IMAGE_CHECK_KEEP'] === 'true') process.stdout.write(`kept the stages' directories\n`);
    else play.cleanUp();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
