import type { SqlEntityManager } from '@mikro-orm/sql';
import { newId } from '../db/uuid';
import type { Mail } from './mailer';
import { OutboxKind, OutboxMessage } from './outbox-message.entity';

/** A claimed row, as the delivery loop works on it. */
export interface ClaimedMessage {
  readonly id: string;
  readonly kind: OutboxKind;
  readonly recipient: string;
  readonly subject: string | null;
  readonly textBody: string | null;
  readonly htmlBody: string | null;
  /** Including this one. */
  readonly attempts: number;
}

interface ClaimedRow {
  id: string;
  kind: OutboxKind;
  recipient: string;
  subject: string | null;
  text_body: string | null;
  html_body: string | null;
  attempts: number;
}

const ERROR_MAX = 500;

/** The `outbox_messages` table. */
export class OutboxService {
  /** Queues a message, in the caller's transaction: it is sent only if that transaction commits. */
  async enqueueMail(tx: SqlEntityManager, mail: Mail): Promise<void> {
    tx.create(OutboxMessage, {
      kind: OutboxKind.MAIL,
      recipient: mail.to,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      dueAt: new Date(),
    });
    await tx.flush();
  }

  /** Queues a password reset asked for `email`; the delivery loop decides whether anything is sent. */
  async enqueueResetRequest(em: SqlEntityManager, email: string): Promise<void> {
    const now = new Date();
    await em.insert(OutboxMessage, { id: newId(), kind: OutboxKind.PASSWORD_RESET_REQUEST, recipient: email, dueAt: now, createdAt: now });
  }

  /**
   * Claims up to `limit` due rows for `owner` until `until`. `FOR UPDATE SKIP LOCKED`: instances
   * claiming at the same moment get different rows; a claim whose owner died expires.
   */
  async claim(em: SqlEntityManager, owner: string, limit: number, until: Date): Promise<ClaimedMessage[]> {
    const now = new Date();
    const rows = await em.execute<ClaimedRow[]>(
      `update outbox_messages set claimed_by = ?, claimed_until = ?, attempts = attempts + 1
       where id in (select id from outbox_messages
                    where sent_at is null and failed_at is null and due_at <= ? and (claimed_until is null or claimed_until < ?)
                    order by due_at limit ? for update skip locked)
       returning id, kind, recipient, subject, text_body, html_body, attempts`,
      [owner, until, now, now, limit],
      'all',
    );
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      recipient: row.recipient,
      subject: row.subject,
      textBody: row.text_body,
      htmlBody: row.html_body,
      attempts: row.attempts,
    }));
  }

  /** Done: the bodies (which may carry a token) are cleared; recipient and subject stay for the record. */
  async markSent(em: SqlEntityManager, id: string, owner: string): Promise<void> {
    await em.nativeUpdate(
      OutboxMessage,
      { id, claimedBy: owner },
      { sentAt: new Date(), claimedBy: null, claimedUntil: null, textBody: null, htmlBody: null, lastError: null },
    );
  }

  async scheduleRetry(em: SqlEntityManager, id: string, owner: string, dueAt: Date, error: string): Promise<void> {
    await em.nativeUpdate(
      OutboxMessage,
      { id, claimedBy: owner },
      { dueAt, claimedBy: null, claimedUntil: null, lastError: error.slice(0, ERROR_MAX) },
    );
  }

  async markFailed(em: SqlEntityManager, id: string, owner: string, error: string): Promise<void> {
    await em.nativeUpdate(
      OutboxMessage,
      { id, claimedBy: owner },
      { failedAt: new Date(), claimedBy: null, claimedUntil: null, textBody: null, htmlBody: null, lastError: error.slice(0, ERROR_MAX) },
    );
  }

  /** Messages waiting to be sent (for operators and metrics). */
  backlog(em: SqlEntityManager): Promise<number> {
    return em.count(OutboxMessage, { sentAt: null, failedAt: null });
  }
}
