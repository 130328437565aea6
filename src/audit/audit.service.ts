import type { FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { InvalidInput } from '../errors';
import { connectionFrom, decodeCursor, isUuid } from '../db/keys';
import { newId } from '../db/uuid';
import { AuditEvent, AuditEventType } from './audit-event.entity';
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, type AuditEventConnection, type AuditLogArgs } from './audit.types';

export { AuditEventType };

const USER_AGENT_MAX = 512;
const DETAIL_MAX = 200;

/** Who acted, from where: taken from the request context. */
export interface AuditOrigin {
  readonly actorId: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

export interface NewAuditEvent {
  readonly type: AuditEventType;
  readonly subjectId: string | null;
  readonly sessionId?: string | null;
  /** Never a password, a token, a hash or (for a failed login) an email. */
  readonly detail?: string | null;
}

/** The audit log: append-only security events, readable by ADMIN. */
export class AuditService {
  /**
   * Writes one event at once with a direct INSERT: it does not wait for (or depend on) a
   * later flush of the unit of work. Inside a transaction (`em` being its manager) it
   * commits or rolls back with the change it describes.
   */
  async record(em: SqlEntityManager, origin: AuditOrigin, event: NewAuditEvent): Promise<void> {
    await em.insert(AuditEvent, {
      id: newId(),
      type: event.type,
      actorId: origin.actorId,
      subjectId: event.subjectId,
      sessionId: event.sessionId ?? null,
      ip: origin.ip?.slice(0, 45) ?? null,
      userAgent: origin.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
      detail: event.detail?.slice(0, DETAIL_MAX) ?? null,
      createdAt: new Date(),
    });
  }

  /** Newest first, keyset pagination on the time-ordered primary key. */
  async list(em: SqlEntityManager, args: AuditLogArgs): Promise<AuditEventConnection> {
    const first = args.first ?? AUDIT_PAGE_DEFAULT;
    if (!Number.isInteger(first) || first < 1 || first > AUDIT_PAGE_MAX) {
      throw new InvalidInput({ first: `must be between 1 and ${AUDIT_PAGE_MAX}` });
    }
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

/** The origin of an event from the request: the acting user (if any), the client address and agent. */
export function originOf(client: { readonly ip: string | null; readonly userAgent: string | null }, actorId: string | null): AuditOrigin {
  return { actorId, ip: client.ip, userAgent: client.userAgent };
}
