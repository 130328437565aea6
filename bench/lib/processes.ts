import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * Compiles src/ with the production build's settings (tsconfig.build.json) into bench/.tmp/dist and
 * returns its main.js: the server as `npm start` runs it. A server started from TypeScript carries
 * @swc-node/register (the compiler's native module, the compiled sources and their source maps):
 * about 130 MiB more RSS and 30 MB more heap than production, which would skew memory figures.
 */
export function compiledServer(): string {
  const outDir = path.join(ROOT, 'bench', '.tmp', 'dist');
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  return path.join(outDir, 'main.js');
}

export interface Server {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Milliseconds from spawn until /readyz answered 200. */
  readonly readyAfterMs: number;
  /** Peak resident set size so far (VmHWM), in MiB; NaN once the process is gone. */
  peakRssMiB(): number;
  /** The last STDERR_KEPT characters the process wrote to stderr. */
  stderrTail(): string;
  /** SIGTERM, resolved when the process has exited (at once if it already has). */
  stop(): Promise<void>;
}

/** How much of a server's stderr is kept (for error messages): a long run must not grow without bound. */
const STDERR_KEPT = 16 * 1024;
const READY_PROBE_TIMEOUT_MS = 2_000;
const STOP_GRACE_MS = 20_000;

export interface StartOptions {
  /** Receives the server's stdout (its log lines); without it stdout is discarded. */
  readonly onStdout?: (text: string) => void;
}

/**
 * Starts an entry point in its own Node process (TypeScript through @swc-node/register, a .js file
 * as it is) and waits (bounded) until /readyz is 200.
 * A process that does not become ready is killed before the error is thrown.
 */
export async function startServer(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  options: StartOptions = {},
): Promise<Server> {
  const port = await freePort();
  const started = performance.now();
  const loader = entry.endsWith('.js') ? [] : ['-r', '@swc-node/register'];
  const child = spawn(process.execPath, [...nodeArgs, ...loader, entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  // Every event source of the child gets an 'error' listener: an unhandled 'error' event is an
  // uncaught exception in the bench script, which then dies without stopping its servers.
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError ??= error; // failed to spawn, or to signal (kill) the process
  });
  child.stdout?.on('error', () => undefined);
  child.stderr?.on('error', () => undefined);
  const { onStdout } = options;
  if (onStdout) {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      onStdout(chunk);
    });
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEPT);
  });
  const url = `http://127.0.0.1:${String(port)}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (spawnError) throw new Error(`${name} could not be started: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (code ${String(child.exitCode)}, signal ${String(child.signalCode)}): ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(READY_PROBE_TIMEOUT_MS) });
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet, or not answering within the probe's timeout
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become ready: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const readyAfterMs = performance.now() - started;
  return {
    name,
    url,
    child,
    readyAfterMs,
    peakRssMiB: () => {
      try {
        const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
        return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
      } catch {
        return NaN; // the process is gone
      }
    },
    stderrTail: () => stderr,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        // Bounded: a server that does not drain within STOP_GRACE_MS is killed.
        const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
