// A server's memory as bench/ reports it: the peak resident set sampled through a run (VmHWM from
// /proc/<pid>/status), and the live heap after a full GC asked of bench/lib/memory-probe.js
// (preloaded into the server with `-r`, switched on by BENCH_MEMORY_PROBE_DIR).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from './processes';

export const MEMORY_PROBE = path.join(__dirname, 'memory-probe.js');

/** What the probe last wrote (see memory-probe.js), or undefined when nothing is readable yet. */
export interface ProbeReport {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly forcedGcs: number;
  readonly heapAfterForcedGc: number | null;
  /** process.memoryUsage() right after the latest forced GC (before a heap snapshot, which inflates RSS). */
  readonly usageAfterForcedGc: NodeJS.MemoryUsage | null;
  readonly snapshot: string | null;
}

export function readProbe(probeDir: string, pid: number | undefined): ProbeReport | undefined {
  try {
    return JSON.parse(readFileSync(path.join(probeDir, `${String(pid)}.json`), 'utf8')) as ProbeReport;
  } catch {
    return undefined;
  }
}

/**
 * Asks the probe of `server` for a full GC (SIGUSR2) and waits, at most `timeoutMs`, for its
 * report; a heap snapshot, when the probe writes one, can take many seconds.
 */
export async function forcedGc(server: Server, probeDir: string, timeoutMs = 10_000): Promise<ProbeReport> {
  const before = readProbe(probeDir, server.child.pid)?.forcedGcs ?? 0;
  if (!server.child.kill('SIGUSR2')) throw new Error(`${server.name}: could not signal it for a GC (exited?)`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const report = readProbe(probeDir, server.child.pid);
    if (report && report.forcedGcs > before) return report;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${server.name}: the memory probe did not report a full GC within ${String(timeoutMs / 1000)} s`);
}

/** Samples a server's peak RSS (VmHWM) every `everyMs` until stopped; `peakMiB` is the highest seen. */
export class PeakRss {
  private peak = NaN;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly server: Server,
    everyMs = 500,
  ) {
    this.timer = setInterval(() => {
      this.sample();
    }, everyMs);
    this.timer.unref();
    this.sample();
  }

  private sample(): void {
    const now = this.server.peakRssMiB();
    if (Number.isFinite(now) && !(now <= this.peak)) this.peak = now;
  }

  /** The highest VmHWM seen, in MiB (sampled once more now, while the process lives). */
  get peakMiB(): number {
    this.sample();
    return this.peak;
  }

  stop(): number {
    const peak = this.peakMiB;
    clearInterval(this.timer);
    return peak;
  }
}
