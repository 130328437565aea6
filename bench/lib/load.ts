import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './processes';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly total: number;
}

export interface LoadOptions {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly connections: number;
  readonly seconds: number;
}

/** Runs autocannon in a separate process (the load generator never shares the server's event loop). */
export function load(options: LoadOptions): Promise<LoadResult> {
  const args = [path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '--json', '--connections', String(options.connections)];
  args.push('--duration', String(options.seconds), '--method', options.method ?? 'GET');
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('--headers', `${name}=${value}`);
  if (options.body !== undefined) args.push('--body', options.body);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      if (error) {
        reject(new Error(`autocannon failed: ${error.message}`));
        return;
      }
      const report = JSON.parse(stdout) as {
        requests: { average: number; total: number };
        latency: { p50: number; p99: number };
        non2xx: number;
        errors: number;
        '2xx': number;
      };
      resolve({
        requestsPerSecond: report.requests.average,
        p50: report.latency.p50,
        p99: report.latency.p99,
        non2xx: report.non2xx,
        errors: report.errors,
        total: report.requests.total,
      });
    });
  });
}
