import type { SqlEntityManager } from '@mikro-orm/sql';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import { SMTP_TIMEOUTS_MS, type Mailer } from './mailer';
import { OutboxKind } from './outbox-message.entity';
import type { ClaimedMessage, OutboxService } from './outbox.service';

export interface OutboxSettings {
  /** How often each instance looks for due messages. */
  readonly mailPollIntervalMs: number;
  /** The wait before the first retry; each further retry waits twice as long (capped at an hour). */
  readonly mailRetryDelayMs: number;
  /** Attempts before a message is given up (an error line is logged). */
  readonly mailMaxAttempts: number;
}

/** Work other than sending that the outbox carries, done in a transaction that also marks the row done. */
export type OutboxHandler = (tx: SqlEntityManager, recipient: string) => Promise<void>;

const BATCH = 10;
const RETRY_CAP_MS = 3_600_000;
/** A claim outlives the longest a send can take (connect, greeting, silence), twice over. */
const LEASE_MS = 2 * (SMTP_TIMEOUTS_MS.connection + SMTP_TIMEOUTS_MS.greeting + SMTP_TIMEOUTS_MS.socket);

/**
 * The delivery loop of one instance: claims due messages, sends them, records the outcome, and
 * retries with exponential backoff. Delivery never runs inside a request. `stop` stops claiming
 * and waits for the messages it holds.
 */
export class OutboxWorker {
  private readonly owner = `instance-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly unitOfWork: () => SqlEntityManager,
    private readonly outbox: OutboxService,
    private readonly mailer: Mailer,
    private readonly handlers: Readonly<Partial<Record<OutboxKind, OutboxHandler>>>,
    private readonly settings: OutboxSettings,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.stopping) return;
      this.round ??= this.deliverDue().finally(() => {
        this.round = undefined;
      });
    }, this.settings.mailPollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.round;
    this.mailer.close();
  }

  private async deliverDue(): Promise<void> {
    let claimed: ClaimedMessage[];
    try {
      claimed = await this.outbox.claim(this.unitOfWork(), this.owner, BATCH, new Date(Date.now() + LEASE_MS));
    } catch (err) {
      this.logger.warn({ err }, 'mail outbox: claiming failed; the next round tries again');
      return;
    }
    for (const message of claimed) await this.deliver(message);
  }

  private async deliver(message: ClaimedMessage): Promise<void> {
    const em = this.unitOfWork();
    try {
      const handler = this.handlers[message.kind];
      if (message.kind === OutboxKind.MAIL) {
        await this.mailer.send({
          to: message.recipient,
          subject: message.subject ?? '',
          text: message.textBody ?? '',
          html: message.htmlBody ?? '',
        });
        await this.outbox.markSent(em, message.id, this.owner);
      } else if (handler) {
        await em.transactional(async (tx) => {
          await handler(tx, message.recipient);
          await this.outbox.markSent(tx, message.id, this.owner);
        });
      } else {
        throw new Error(`no handler for ${message.kind}`);
      }
    } catch (err) {
      await this.failed(em, message, err);
    }
  }

  private async failed(em: SqlEntityManager, message: ClaimedMessage, err: unknown): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    try {
      if (message.attempts >= this.settings.mailMaxAttempts) {
        await this.outbox.markFailed(em, message.id, this.owner, reason);
        this.logger.error(
          { err, messageId: message.id, kind: message.kind, attempts: message.attempts },
          'mail outbox: given up after the last attempt',
        );
        return;
      }
      const delay = Math.min(RETRY_CAP_MS, this.settings.mailRetryDelayMs * 2 ** (message.attempts - 1));
      await this.outbox.scheduleRetry(em, message.id, this.owner, new Date(Date.now() + delay), reason);
      this.logger.warn(
        { err, messageId: message.id, kind: message.kind, attempts: message.attempts, retryInMs: delay },
        'mail outbox: attempt failed; retrying later',
      );
    } catch (recordError) {
      // The claim expires and another round (here or elsewhere) tries again.
      this.logger.warn({ err: recordError, messageId: message.id }, 'mail outbox: could not record a failed attempt');
    }
  }
}
