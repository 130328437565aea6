import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';

/**
 * Counts the GraphQL operations still executing. A connection can close (its client gave up)
 * while its operation still runs; shutdown waits for these too before it closes the pools
 * under them.
 */
export class OperationsInFlight {
  private count = 0;
  private readonly waiters = new Set<() => void>();

  plugin(): ApolloServerPlugin<Context> {
    return {
      requestDidStart: async () => {
        const end = this.begin();
        return {
          willSendResponse: async () => {
            end();
          },
        };
      },
    };
  }

  /** Counts one operation from now; the function returned ends it (once, however often it is called). */
  begin(): () => void {
    this.count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.count--;
      if (this.count === 0) for (const wake of this.waiters) wake();
    };
  }

  /** Resolves true once no operation runs, or false after `timeoutMs` with some still running. */
  idle(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(this.count === 0);
      };
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      this.waiters.add(wake);
    });
  }

  get running(): number {
    return this.count;
  }
}
