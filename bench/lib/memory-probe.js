'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- preloaded with `node -r` before the TypeScript hook */
// Preloaded into a server process by `npm run soak`: every second, the main thread's
// process.memoryUsage() goes to $SOAK_MEMORY_PROBE_DIR/<pid>.json, with the heap in use right
// after the latest major (mark-sweep-compact) garbage collection: that one is the live data,
// without the garbage the heap carries between collections. Written to a temporary file and
// renamed, so a reader never sees half a file. Nothing here keeps the process alive.
// SIGUSR2 runs a full garbage collection first and reports the heap left (the soak sends it at
// the end of the warm-up and at the end of the load): live data, comparable at any run length.
// With BENCH_HEAP_SNAPSHOT=true as well (npm run bench:heap only), it then writes a heap snapshot
// to the same directory (`<pid>-<n>.heapsnapshot`, named in the JSON as `snapshot`); the process
// stops for the seconds that takes. Neither happens without these variables: no endpoint, no signal
// handler in a production process.
const { renameSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { setInterval } = require('node:timers');
const v8 = require('node:v8');
const vm = require('node:vm');
const { isMainThread } = require('node:worker_threads');

// BENCH_MEMORY_PROBE_DIR (npm run bench, bench:heap) and SOAK_MEMORY_PROBE_DIR (npm run soak) are one switch.
const dir = process.env['BENCH_MEMORY_PROBE_DIR'] ?? process.env['SOAK_MEMORY_PROBE_DIR'];
if (dir && isMainThread) {
  const file = path.join(dir, `${process.pid}.json`);
  let majorGcs = 0;
  /** @type {number | null} */
  let heapAfterMajorGc = null;
  let forcedGcs = 0;
  /** @type {string | null} */
  let snapshot = null;
  const snapshots = process.env['BENCH_HEAP_SNAPSHOT'] === 'true';
  /** @type {number | null} */
  let heapAfterForcedGc = null;
  /** process.memoryUsage() right after the latest forced GC, before any snapshot (which inflates RSS). */
  /** @type {NodeJS.MemoryUsage | null} */
  let usageAfterForcedGc = null;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = /** @type {{ detail?: { kind?: number } }} */ (/** @type {unknown} */ (entry));
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        majorGcs++;
        heapAfterMajorGc = process.memoryUsage().heapUsed;
      }
    }
  }).observe({ entryTypes: ['gc'] });
  const write = () => {
    try {
      writeFileSync(
        `${file}.tmp`,
        JSON.stringify({
          at: Date.now(),
          ...process.memoryUsage(),
          majorGcs,
          heapAfterMajorGc,
          forcedGcs,
          heapAfterForcedGc,
          usageAfterForcedGc,
          snapshot,
        }),
      );
      renameSync(`${file}.tmp`, file);
    } catch {
      // the directory is gone (the soak is cleaning up): nothing to report to
    }
  };
  write();
  setInterval(write, 1000).unref();
  // The `gc` function without starting the process with --expose-gc.
  v8.setFlagsFromString('--expose-gc');
  const gc = /** @type {() => void} */ (vm.runInNewContext('gc'));
  process.on('SIGUSR2', () => {
    gc();
    usageAfterForcedGc = process.memoryUsage();
    heapAfterForcedGc = usageAfterForcedGc.heapUsed;
    if (snapshots) snapshot = v8.writeHeapSnapshot(path.join(dir, `${process.pid}-${forcedGcs + 1}.heapsnapshot`));
    forcedGcs++;
    write();
  });
}
