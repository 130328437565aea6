import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Logger } from '../logger';
import type { SessionService } from './session.service';

export interface SessionPurgeSettings {
  readonly sessionPurgeIntervalMs: number;
  readonly sessionRetentionMs: number;
}

/**
 * Purges ended sessions on a schedule, in every instance; the purge itself takes turns between
 * instances (an advisory lock). A failed round is logged and the next one tries again.
 */
export class SessionPurge {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly unitOfWork: () => SqlEntityManager,
    private readonly sessions: SessionService,
    private readonly settings: SessionPurgeSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.round().finally(() => {
        this.running = undefined;
      });
    }, this.settings.sessionPurgeIntervalMs);
    this.timer.unref();
  }

  /** Stops the schedule and waits for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    try {
      const purged = await this.sessions.purgeEnded(this.unitOfWork(), new Date(Date.now() - this.settings.sessionRetentionMs));
      if (purged > 0) this.logger.info({ purged }, 'ended sessions purged');
    } catch (err) {
      this.logger.warn({ err }, 'purging ended sessions failed; the next round tries again');
    }
  }
}
