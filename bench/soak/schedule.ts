// The soak's timeline: WARMUP_SECONDS of load (not measured, errors still count), then SECONDS
// measured, memory sampled every second with a progress line now and then, a full GC asked of
// each instance at the end of the warm-up and of the load, an instance that exits ending it all.
import { fmt } from '../lib/util';
import { PROGRESS_SECONDS, SAMPLE_MS, SECONDS, WARMUP_SECONDS } from './config';
import { type Instance } from './instances';
import { memoryOf, type MemorySampler } from './memory';
import { progress } from './progress';
import { type Results } from './results';
import { type Workload } from './workload';

export interface LoadParts {
  readonly instances: readonly Instance[];
  readonly workload: Workload;
  readonly results: Results;
  readonly memory: MemorySampler;
  readonly interrupted: AbortSignal;
}

/** Counts an instance that has exited as an error (once) and ends the load. */
function checkAlive({ instances, workload, results }: LoadParts): void {
  for (const instance of instances) {
    const { child } = instance.server;
    if ((child.exitCode !== null || child.signalCode !== null) && !results.errors.has(`instance ${instance.name} exited`)) {
      const stderr = instance.server.stderrTail().trim().split('\n').slice(-5).join(' / ');
      results.fail(
        `instance ${instance.name} exited`,
        `exit code ${String(child.exitCode)}, signal ${String(child.signalCode)}${stderr ? `; stderr: ${stderr}` : ''}`,
      );
      workload.endAt(0);
    }
  }
}

/** Forgets what the warm-up did (errors excepted: every error counts). */
function endWarmup({ instances, results }: LoadParts): void {
  results.endWarmup();
  for (const instance of instances) instance.requests = 0;
}

/** Runs the warm-up and the measured load. Returns the measured seconds (after the warm-up, until the last journey ended). */
export async function runLoad(parts: LoadParts): Promise<number> {
  const { workload, results, memory, interrupted } = parts;
  const startedAt = Date.now();
  workload.endAt(startedAt + (WARMUP_SECONDS + SECONDS) * 1000);
  let measuredFrom = startedAt + WARMUP_SECONDS * 1000;
  let startGc: Promise<void> | undefined;
  const warmup = setTimeout(() => {
    measuredFrom = Date.now();
    endWarmup(parts);
    startGc = memory.fullGc().then(
      (live) => {
        memory.liveAtStart = live;
      },
      (error: unknown) => {
        results.fail('soak: full GC at the end of the warm-up failed', String(error));
      },
    );
    progress(`  warm-up over after ${String(WARMUP_SECONDS)} s: measuring`);
  }, WARMUP_SECONDS * 1000);
  memory.sample(startedAt, results.done);
  checkAlive(parts);
  const sampler = setInterval(() => {
    try {
      sampleAndReport(parts, startedAt);
    } catch (error) {
      // A bug in sampling must end the load with a reported error, not as an uncaught exception.
      results.fail('soak: sampling failed', error instanceof Error ? (error.stack ?? error.message) : String(error));
      workload.endAt(0);
    }
  }, SAMPLE_MS);
  try {
    await workload.run();
  } finally {
    clearInterval(sampler);
    clearTimeout(warmup);
  }
  const measured = (Date.now() - measuredFrom) / 1000;
  await startGc;
  if (!interrupted.aborted) memory.liveAtEnd = await memory.fullGc();
  return measured;
}

/** One memory sample, the liveness check, and a progress line every PROGRESS_SECONDS. */
function sampleAndReport(parts: LoadParts, startedAt: number): void {
  const { instances, results, memory } = parts;
  const last = memory.sample(startedAt, results.done);
  checkAlive(parts);
  if (Math.round(last.t) % PROGRESS_SECONDS === 0) {
    const before = memory.samples.at(-11) ?? memory.samples[0] ?? last;
    const rate = (last.done - before.done) / Math.max(last.t - before.t, 1);
    const rss = instances.map((i, k) => `${i.name} ${fmt(memoryOf(last, k).rss)}`).join(' / ');
    const live = last.memory.map(({ live }) => (live === null ? '-' : fmt(live))).join(' / ');
    const majorGcs = last.memory.map((m) => m.majorGcs).join(' / ');
    progress(
      `  ${fmt(last.t)} s: ${fmt(rate)} ops/s, ${String(results.errorCount)} errors, RSS ${rss} MiB, heap after major GC ${live} MiB (${majorGcs} GCs)`,
    );
  }
}
