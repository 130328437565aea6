// Reads a V8 CPU profile (`node --cpu-prof`) and sums its CPU time by where the code lives:
// a package (node_modules/<pkg>), Node's own modules (node:*), the project's src/, the garbage
// collector, V8 itself. Native frames (no URL: writev, a builtin) count for the JavaScript that
// called them, so socket writes land on Node's net/http modules rather than in an "(other)" pile.
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Group =
  'project src' | 'packages (node_modules)' | 'Node.js internals (node:*)' | 'garbage collector' | 'V8 and native code' | 'other';

export interface Bucket {
  readonly name: string;
  readonly group: Group;
}

export interface ProfileSummary {
  /** CPU time of the samples kept (idle excluded), in microseconds. */
  readonly cpuMicros: number;
  /** Share of the window the process was idle (waiting on I/O), 0..1. */
  readonly idleShare: number;
  /** Per group and per bucket: share of the CPU time, 0..1, largest first. */
  readonly groups: readonly [Group, number][];
  readonly buckets: readonly [Bucket, number][];
  /** False when no sample fell in the window asked for, so the whole profile was used. */
  readonly windowed: boolean;
}

function bucketOfUrl(url: string, root: string): Bucket | undefined {
  if (url === '') return undefined;
  const packages = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  const pkg = packages.at(-1)?.[1];
  if (pkg) return { name: pkg, group: 'packages (node_modules)' };
  if (url.startsWith('node:')) {
    // node:internal/streams/writable -> node:internal/streams; node:_http_outgoing stays as it is.
    const parts = url.slice(5).split('/');
    const name = parts[0] === 'internal' && parts.length > 2 ? `internal/${parts[1] ?? ''}` : parts.join('/');
    return { name: `node:${name}`, group: 'Node.js internals (node:*)' };
  }
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  const relative = path.relative(root, file);
  if (relative.startsWith('src/')) return { name: relative, group: 'project src' };
  return { name: relative.startsWith('..') ? file : relative, group: 'other' };
}

/**
 * Sums `file`'s samples taken between `fromMicros` and `toMicros` (V8's monotonic clock, the one
 * `process.hrtime` reads on the same machine), by bucket. `root`: the project's directory.
 */
export function summariseProfile(file: string, root: string, fromMicros: number, toMicros: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const bucketCache = new Map<number, Bucket | 'idle' | 'root'>();
  const bucketOf = (id: number): Bucket | 'idle' | 'root' => {
    const cached = bucketCache.get(id);
    if (cached) return cached;
    const frame = byId.get(id)?.callFrame;
    let bucket: Bucket | 'idle' | 'root';
    if (!frame || frame.functionName === '(root)') bucket = 'root';
    else if (frame.functionName === '(idle)') bucket = 'idle';
    else if (frame.functionName === '(garbage collector)') bucket = { name: 'garbage collector', group: 'garbage collector' };
    else if (frame.functionName === '(program)') bucket = { name: 'V8 (program)', group: 'V8 and native code' };
    else {
      // A native frame counts for the nearest caller with a URL.
      let found = bucketOfUrl(frame.url, root);
      for (let up = parentOf.get(id); !found && up !== undefined; up = parentOf.get(up)) {
        found = bucketOfUrl(byId.get(up)?.callFrame.url ?? '', root);
      }
      bucket = found ?? { name: `native ${frame.functionName}`, group: 'V8 and native code' };
    }
    bucketCache.set(id, bucket);
    return bucket;
  };

  const collect = (windowed: boolean): { totals: Map<string, [Bucket, number]>; cpu: number; idle: number } => {
    const totals = new Map<string, [Bucket, number]>();
    let cpu = 0;
    let idle = 0;
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const delta = profile.timeDeltas[i] ?? 0;
      at += delta;
      if (windowed && (at < fromMicros || at > toMicros)) return;
      const bucket = bucketOf(id);
      if (bucket === 'idle') idle += delta;
      else if (bucket !== 'root') {
        cpu += delta;
        const key = `${bucket.group}|${bucket.name}`;
        const entry = totals.get(key) ?? [bucket, 0];
        entry[1] += delta;
        totals.set(key, entry);
      }
    });
    return { totals, cpu, idle };
  };
  let windowed = true;
  let result = collect(true);
  if (result.cpu === 0) {
    windowed = false;
    result = collect(false);
  }
  const { totals, cpu, idle } = result;
  const groups = new Map<Group, number>();
  for (const [bucket, micros] of totals.values()) groups.set(bucket.group, (groups.get(bucket.group) ?? 0) + micros);
  const share = (micros: number): number => (cpu > 0 ? micros / cpu : 0);
  return {
    cpuMicros: cpu,
    idleShare: cpu + idle > 0 ? idle / (cpu + idle) : 0,
    groups: [...groups].map(([group, micros]): [Group, number] => [group, share(micros)]).sort((a, b) => b[1] - a[1]),
    buckets: [...totals.values()].map(([bucket, micros]): [Bucket, number] => [bucket, share(micros)]).sort((a, b) => b[1] - a[1]),
    windowed,
  };
}
