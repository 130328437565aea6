import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { pollUntil } from './eventually';

/** A port nothing listens on right now, for a private redis-server. */
async function sparePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True when a Redis on the port answers PING. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      socket.write('PING\r\n');
    });
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * A private redis-server for tests that take Redis away (never the shared one): nothing saved,
 * nothing loaded, on a free port of 127.0.0.1. `freeze()` stops the process (SIGSTOP) as a hung
 * host would: connections stay open and nothing answers; `thaw()` continues it. Call `stop()` in
 * afterAll, whatever happened.
 */
export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';
  private port: number | undefined;

  get url(): string {
    if (this.port === undefined) throw new Error('redis-server has not been started');
    return `redis://127.0.0.1:${String(this.port)}`;
  }

  async start(): Promise<void> {
    const port = (this.port ??= await sparePort());
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
    await pollUntil(`redis-server on port ${String(port)}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${this.output}`);
      return (await pong(port)) ? true : undefined;
    });
  }

  freeze(): void {
    this.running().kill('SIGSTOP');
  }

  thaw(): void {
    this.running().kill('SIGCONT');
  }

  /**
   * Kills the server outright (SIGKILL, continued first should it be frozen), as a crash or an OOM
   * kill would: no goodbye to its clients. Safe when it never started or is gone; `start()` brings
   * it back, empty, on the same port.
   */
  async stop(): Promise<void> {
    const child = this.live();
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  private running(): ChildProcess {
    const child = this.live();
    if (child === undefined) throw new Error('redis-server is not running');
    return child;
  }

  /** The process, unless it never started or has exited. */
  private live(): ChildProcess | undefined {
    const child = this.child;
    return child?.exitCode === null && child.signalCode === null ? child : undefined;
  }
}
