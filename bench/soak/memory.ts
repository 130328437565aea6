// Each instance's memory over the load: sampled every second from /proc and from what
// bench/lib/memory-probe.js writes, a full GC asked of the probe at both ends of the measured
// load, and the verdict on whether memory stayed flat.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, median } from '../lib/util';
import { WARMUP_SECONDS } from './config';
import { type Instance } from './instances';

/**
 * Memory is "flat" when, per instance, after the warm-up: (1) the highest RSS of the last third of
 * the samples is at most RSS_GROWTH_* above the highest before it; (2) the RSS outside the main V8
 * heap (RSS - heapTotal: native memory, Buffers, worker threads) has a last-third median at most
 * OUTSIDE_GROWTH_* above the first-third median; (3) the heap left by a full GC at the end of the
 * load is at most LIVE_GROWTH_* above that at the end of the warm-up. Each bound is "MiB or ratio,
 * whichever is larger". Why these three and not one median of RSS: see the report's footnote.
 */
export const RSS_GROWTH_MIB = 64;
export const RSS_GROWTH_RATIO = 0.2;
export const OUTSIDE_GROWTH_MIB = 32;
export const OUTSIDE_GROWTH_RATIO = 0.1;
export const LIVE_GROWTH_MIB = 16;
export const LIVE_GROWTH_RATIO = 0.2;

/** One instance at one sample, MiB: resident set, V8 heap in use and allocated, heap in use after the latest major GC. */
export interface InstanceMemory {
  readonly rss: number;
  readonly heap: number | null;
  readonly heapTotal: number | null;
  readonly live: number | null;
  readonly majorGcs: number | null;
}

export interface Sample {
  /** Seconds since the load started. */
  readonly t: number;
  /** Successful operations so far. */
  readonly done: number;
  /** Per instance, in the order of the instances. */
  readonly memory: readonly InstanceMemory[];
}

const UNKNOWN: InstanceMemory = { rss: NaN, heap: null, heapTotal: null, live: null, majorGcs: null };

/** Instance `k` at `sample`. */
export function memoryOf(sample: Sample, k: number): InstanceMemory {
  return sample.memory[k] ?? UNKNOWN;
}

/** VmRSS from /proc/<pid>/status, in MiB. */
function rssMiB(pid: number | undefined): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

interface Probed {
  readonly heap: number | null;
  readonly heapTotal: number | null;
  readonly live: number | null;
  readonly majorGcs: number | null;
  readonly forcedGcs: number;
  readonly afterFullGc: number | null;
}

/** What bench/lib/memory-probe.js last wrote for the process, in MiB. */
function probe(probeDir: string, pid: number | undefined): Probed {
  try {
    const usage = JSON.parse(readFileSync(path.join(probeDir, `${String(pid)}.json`), 'utf8')) as {
      heapUsed: number;
      heapTotal: number;
      forcedGcs: number;
      heapAfterForcedGc: number | null;
      heapAfterMajorGc: number | null;
      majorGcs: number;
    };
    return {
      heap: usage.heapUsed / 2 ** 20,
      heapTotal: usage.heapTotal / 2 ** 20,
      forcedGcs: usage.forcedGcs,
      afterFullGc: usage.heapAfterForcedGc === null ? null : usage.heapAfterForcedGc / 2 ** 20,
      live: usage.heapAfterMajorGc === null ? null : usage.heapAfterMajorGc / 2 ** 20,
      majorGcs: usage.majorGcs,
    };
  } catch {
    return { heap: null, heapTotal: null, live: null, majorGcs: null, forcedGcs: 0, afterFullGc: null };
  }
}

export class MemorySampler {
  readonly samples: Sample[] = [];
  /** Heap in use after a full GC, per instance (MiB): at the end of the warm-up and of the load. */
  liveAtStart: (number | null)[] = [];
  liveAtEnd: (number | null)[] = [];

  /** `probeDir`: where the instances' memory probes write. */
  constructor(
    private readonly instances: readonly Instance[],
    private readonly probeDir: string,
  ) {}

  /** Takes a sample of every instance, `done` operations so far, and returns it. */
  sample(startedAt: number, done: number): Sample {
    const sample: Sample = {
      t: (Date.now() - startedAt) / 1000,
      done,
      memory: this.instances.map(({ server }) => {
        const probed = probe(this.probeDir, server.child.pid);
        return {
          rss: rssMiB(server.child.pid),
          heap: probed.heap,
          heapTotal: probed.heapTotal,
          live: probed.live,
          majorGcs: probed.majorGcs,
        };
      }),
    };
    this.samples.push(sample);
    return sample;
  }

  /** Asks each instance's memory probe for a full GC (SIGUSR2) and waits (bounded) for the heap it leaves. */
  async fullGc(): Promise<(number | null)[]> {
    return Promise.all(
      this.instances.map(async ({ server }) => {
        const before = probe(this.probeDir, server.child.pid).forcedGcs;
        if (!server.child.kill('SIGUSR2')) return null;
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
          const now = probe(this.probeDir, server.child.pid);
          if (now.forcedGcs > before) return now.afterFullGc;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return null;
      }),
    );
  }
}

export interface MemoryVerdict {
  readonly flat: boolean;
  /** One markdown table row per instance. */
  readonly rows: string[];
  readonly notes: string[];
}

/** Judges each instance's memory after the warm-up by the three bounds above. */
export function memoryVerdict(instances: readonly Instance[], memory: MemorySampler): MemoryVerdict {
  const measured = memory.samples.filter((s) => s.t >= WARMUP_SECONDS && s.memory.every((m) => Number.isFinite(m.rss)));
  const third = Math.floor(measured.length / 3);
  if (third < 3) {
    return { flat: false, rows: [], notes: [`Too few samples after the ${String(WARMUP_SECONDS)} s warm-up to judge memory.`] };
  }
  const rows: string[] = [];
  const notes: string[] = [];
  let flat = true;
  const signed = (n: number): string => `${n >= 0 ? '+' : ''}${fmt(n, 1)}`;
  instances.forEach((instance, k) => {
    const own = (samples: Sample[]): InstanceMemory[] => samples.map((s) => memoryOf(s, k));
    const peakBefore = Math.max(...own(measured.slice(0, -third)).map((m) => m.rss));
    const peakLast = Math.max(...own(measured.slice(-third)).map((m) => m.rss));
    const rssAllowed = Math.max(RSS_GROWTH_MIB, peakBefore * RSS_GROWTH_RATIO);
    const rssOk = peakLast - peakBefore <= rssAllowed;

    const outside = (samples: Sample[]): number => median(own(samples).flatMap((m) => (m.heapTotal === null ? [] : [m.rss - m.heapTotal])));
    const outsideFirst = outside(measured.slice(0, third));
    const outsideLast = outside(measured.slice(-third));
    const outsideAllowed = Math.max(OUTSIDE_GROWTH_MIB, outsideFirst * OUTSIDE_GROWTH_RATIO);
    const outsideOk = Number.isFinite(outsideFirst) && Number.isFinite(outsideLast) && outsideLast - outsideFirst <= outsideAllowed;

    const liveStart = memory.liveAtStart[k] ?? null;
    const liveEnd = memory.liveAtEnd[k] ?? null;
    const liveAllowed = liveStart === null ? NaN : Math.max(LIVE_GROWTH_MIB, liveStart * LIVE_GROWTH_RATIO);
    const liveOk = liveStart !== null && liveEnd !== null && liveEnd - liveStart <= liveAllowed;
    if (liveStart === null || liveEnd === null)
      notes.push(`Instance ${instance.name}: no heap figure after a full GC (the probe did not answer).`);

    const ok = rssOk && outsideOk && liveOk;
    flat &&= ok;
    const cell = (from: number, to: number, allowed: number, good: boolean): string =>
      `${fmt(from, 1)} -> ${fmt(to, 1)} (${signed(to - from)}, max +${fmt(allowed, 1)})${good ? '' : ' **growing**'}`;
    rows.push(
      `| ${instance.name} | ${cell(peakBefore, peakLast, rssAllowed, rssOk)} | ${cell(outsideFirst, outsideLast, outsideAllowed, outsideOk)} | ${liveStart === null || liveEnd === null ? '-' : cell(liveStart, liveEnd, liveAllowed, liveOk)} | ${ok ? 'flat' : '**GROWING**'} |`,
    );
  });
  return { flat, rows, notes };
}
