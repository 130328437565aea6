import { spawn, type ChildProcess } from 'node:child_process';
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

export interface Server {
  readonly name: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** Milliseconds from spawn until /readyz answered 200. */
  readonly readyAfterMs: number;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Receives the server's stdout (its log lines); without it stdout is discarded. */
  readonly onStdout?: (text: string) => void;
}

/**
 * Starts a TypeScript entry point in its own Node process and waits (bounded) until /readyz is 200.
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
  const child = spawn(process.execPath, [...nodeArgs, '-r', '@swc-node/register', entry], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', options.onStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  const { onStdout } = options;
  if (onStdout) {
    child.stdout?.on('data', (chunk: Buffer) => {
      onStdout(chunk.toString());
    });
  }
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `http://127.0.0.1:${String(port)}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited during start-up: ${stderr}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
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
      const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
