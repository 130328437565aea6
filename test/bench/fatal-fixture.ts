// Run by fatal.test.ts as its own process: installs bench/lib/fatal.ts with a clean-up that
// writes FATAL_MARKER, then fails in the way FATAL_CASE names.
import { writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { exitCleanlyOnFatal } from '../../bench/lib/fatal';

const marker = process.env['FATAL_MARKER'] ?? '';
exitCleanlyOnFatal('fixture', async () => {
  await new Promise((resolve) => setImmediate(resolve));
  if (process.env['FATAL_CASE'] === 'cleanup-throws') throw new Error('clean-up broke');
  writeFileSync(marker, 'cleaned');
});

const failures: Record<string, () => void> = {
  throw: () => {
    setTimeout(() => {
      throw new Error('boom in a timer');
    }, 10);
  },
  reject: () => {
    void Promise.reject(new Error('boom in a promise'));
  },
  'stream-error': () => {
    // An 'error' event nobody listens to, as from a child's pipe or a socket.
    const stream = new Readable({ read: () => undefined });
    setTimeout(() => stream.destroy(new Error('boom on a stream')), 10);
  },
  'cleanup-throws': () => {
    setTimeout(() => {
      throw new Error('boom before a broken clean-up');
    }, 10);
  },
};
failures[process.env['FATAL_CASE'] ?? '']?.();
// Keeps the process alive, as a running soak does, until something ends it.
setInterval(() => undefined, 1000);
