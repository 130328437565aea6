// What a server's garbage collector did over a window, from the lines `node --trace-gc-nvp` writes
// to its stdout (one per collection: `gc=s` a scavenge of the young generation, `gc=mc`/`gc=ms` a
// full one; `pause=` in ms, `promoted=` in bytes). Used by `npm run bench:profile`: what a request
// allocates should die young, so its scavenges should promote next to nothing.

export interface GcTotals {
  readonly scavenges: number;
  /** Bytes the scavenges moved to the old generation. */
  readonly promotedBytes: number;
  /** Main-thread pause of the scavenges, ms. */
  readonly scavengePauseMs: number;
  /** Collections of the old generation (mark-compact or mark-sweep). */
  readonly fullCollections: number;
}

function field(line: string, name: string): number {
  const value = new RegExp(`(?:^|\\s)${name}=([\\d.]+)`).exec(line)?.[1];
  return value === undefined ? 0 : Number(value);
}

export class GcTrace {
  private partial = '';
  private totals: GcTotals = { scavenges: 0, promotedBytes: 0, scavengePauseMs: 0, fullCollections: 0 };

  /** Give it the server's stdout (startServer's `onStdout`); lines that are not the trace's are skipped. */
  readonly onStdout = (chunk: string): void => {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.add(line);
  };

  /** The totals so far; subtract two of them with `since`. */
  snapshot(): GcTotals {
    return this.totals;
  }

  private add(line: string): void {
    const kind = /(?:^|\s)gc=(\w+)/.exec(line)?.[1];
    if (kind === undefined) return;
    const t = this.totals;
    if (kind === 's') {
      this.totals = {
        ...t,
        scavenges: t.scavenges + 1,
        promotedBytes: t.promotedBytes + field(line, 'promoted'),
        scavengePauseMs: t.scavengePauseMs + field(line, 'pause'),
      };
    } else if (kind === 'mc' || kind === 'ms') {
      this.totals = { ...t, fullCollections: t.fullCollections + 1 };
    }
  }
}

export function since(before: GcTotals, after: GcTotals): GcTotals {
  return {
    scavenges: after.scavenges - before.scavenges,
    promotedBytes: after.promotedBytes - before.promotedBytes,
    scavengePauseMs: after.scavengePauseMs - before.scavengePauseMs,
    fullCollections: after.fullCollections - before.fullCollections,
  };
}
