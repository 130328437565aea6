// The last line of defence of a long-running bench script (the soak): an exception nobody caught
// or a promise rejection nobody handled ends the run with one readable line on stderr, then the
// script's clean-up (stop the servers it started, drop its database), bounded, then exit code 1.
//
// Why this exists: Node exits with code 7 when an 'uncaughtException' handler itself throws, and
// then prints nothing useful and runs no clean-up. So the handler below never throws: it writes
// with fs.writeSync (no stream, so no EPIPE 'error' event when the console's pipe is gone), every
// step is wrapped, and a second failure during the clean-up exits at once.
import { writeSync } from 'node:fs';

const CLEANUP_DEADLINE_MS = 30_000;

/** Writes a line to stderr, synchronously; never throws (stderr may be closed). */
export function writeStderr(line: string): void {
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // stderr is gone: nothing else to report to
  }
}

/** One line about `error`: its stack when it is an Error, else its string form; never throws. */
export function describe(error: unknown): string {
  try {
    if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
    return String(error);
  } catch {
    return '(an error that cannot be printed)';
  }
}

/**
 * Installs the handlers. `cleanUp` runs at most once (the caller's normal path may share it);
 * it gets CLEANUP_DEADLINE_MS before the process exits anyway. `name` prefixes the message.
 */
export function exitCleanlyOnFatal(name: string, cleanUp: () => Promise<void>): void {
  let failing = false;
  const fatal = (kind: string, error: unknown): void => {
    try {
      if (failing) {
        writeStderr(`${name}: ${kind} during the clean-up, exiting now: ${describe(error)}`);
        process.exit(1);
      }
      failing = true;
      writeStderr(`${name} failed (${kind}): ${describe(error)}`);
      const deadline = setTimeout(() => {
        writeStderr(`${name}: clean-up did not finish within ${String(CLEANUP_DEADLINE_MS / 1000)} s, exiting`);
        process.exit(1);
      }, CLEANUP_DEADLINE_MS);
      deadline.unref();
      cleanUp().then(
        () => process.exit(1),
        (cleanupError: unknown) => {
          writeStderr(`${name}: clean-up failed: ${describe(cleanupError)}`);
          process.exit(1);
        },
      );
    } catch {
      // Never let the handler throw (that is exit code 7 with no clean-up).
      process.exit(1);
    }
  };
  process.on('uncaughtException', (error) => {
    fatal('uncaught exception', error);
  });
  process.on('unhandledRejection', (reason) => {
    fatal('unhandled promise rejection', reason);
  });
  // A console pipe that closes (a CI log collector, `| head`) must not turn each progress line into
  // an unhandled 'error' event: the run goes on, its report still goes to its file.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
}

/** Runs `cleanUp` once however many callers ask; later callers get the first run's promise. */
export function once(cleanUp: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= cleanUp());
}
