import type { FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { isUuid, newId } from '../db/uuid';
import { InvalidInput } from '../errors';
import { connectionFrom, decodeCursor, type ConnectionShape } from '../graphql/connection';
import type { ClientInfo } from '../validation/client-info';
import { AuditEvent, type AuditEventType } from './audit-event.entity';
import { AUDIT_PAGE_DEFAULT, type AuditLogArgs } from './audit.types';

const DETAIL_MAX = 200;

/** Who acted, from where. */
export interface AuditOrigin extends ClientInfo {
  readonly actorId: string | null;
}

export interface NewAuditEvent {
  readonly type: AuditEventType;
  readonly subjectId: string | null;
  readonly sessionId?: string | null;
  /** Never a password, a token, a hash or (for a failed login) an email. */
  readonly detail?: string | null;
}

/** The origin of an event: the acting user (if any) and the client it came from. */
export function originOf(client: ClientInfo, actorId: string | null): AuditOrigin {
  return { actorId, ip: client.ip, userAgent: client.userAgent };
}

/** The `audit_events` table: append-only security events, readable by ADMIN. */
export class AuditService {
  /**
   * Writes one event with a direct INSERT (it does not wait for a later flush of the unit of work).
   * Pass the mutation's transaction: the event commits or rolls back with the change it describes.
   */
  async record(em: SqlEntityManager, origin: AuditOrigin, event: NewAuditEvent): Promise<void> {
    await em.insert(AuditEvent, {
      id: newId(),
      type: event.type,
      actorId: origin.actorId,
      subjectId: event.subjectId,
      sessionId: event.sessionId ?? null,
      ip: origin.ip,
      userAgent: origin.userAgent,
      detail: event.detail?.slice(0, DETAIL_MAX) ?? null,
      createdAt: new Date(),
    });
  }

  /** Newest first, keyset pagination on the time-ordered primary key. */
  async list(em: SqlEntityManager, args: AuditLogArgs): Promise<ConnectionShape<AuditEvent>> {
    const first = args.first ?? AUDIT_PAGE_DEFAULT;
    const filter: FilterQuery<AuditEvent> = {};
    if (args.userId) {
      if (!isUuid(args.userId)) throw new InvalidInput({ userId: 'is not a valid user id' });
      filter.subjectId = args.userId;
    }
    const page: FilterQuery<AuditEvent> = args.after ? { ...filter, id: { $lt: decodeCursor(args.after) } } : filter;
    const [rows, totalCount] = await Promise.all([
      em.find(AuditEvent, page, { orderBy: { id: 'desc' }, limit: first + 1 }),
      em.count(AuditEvent, filter),
    ]);
    return connectionFrom(rows, first, totalCount);
  }
}
