import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits for a condition instead of sleeping: calls `probe` every `intervalMs` until it returns
 * something other than `undefined`, and returns that; fails naming `what` after `timeoutMs`.
 */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${String(timeoutMs)} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

/** `pollUntil` for a yes/no condition. */
export async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  await pollUntil(what, async () => ((await condition()) ? true : undefined), timeoutMs, intervalMs);
}
