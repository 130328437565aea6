import { ReferenceKind, type EntityComparator, type EntityMetadata, type EntityProperty, type MetadataStorage } from '@mikro-orm/core';
import type { AccessClaims } from '../credentials/token.codec';
import type { Orm } from '../db/orm';
import { PreparedStatement, type BatchObserver, type KeyedQuery, type PositionalRow } from '../db/prepared-statement';
import { isUuid } from '../db/uuid';
import { AuthReason, AuthenticationFailure } from '../errors';
import { User } from '../users/user.entity';
import { UserSnapshot } from '../users/user.snapshot';
import { Session } from './session.entity';
import type { TokenTransport } from './token-transport';

/** The state of the session an access token names, as the request read it: a copy, not an entity. */
export interface ViewerSession {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly refreshTransport: TokenTransport;
  readonly amr: string;
}

/**
 * The signed-in account of a request and the session its access token names: a read-only
 * snapshot, read once per request with no unit of work (resolvers that write fork their own).
 */
export interface Viewer {
  readonly user: UserSnapshot;
  readonly session: ViewerSession;
}

/** The session properties a viewer carries (the user's: every eager scalar column). */
const SESSION_PROPERTIES = ['id', 'user', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt', 'refreshTransport', 'amr'] as const;

const USER_PREFIX = 'u__';
const SESSION_PREFIX = 's__';

/**
 * Why an access token no longer works, or undefined when it does: the session is another user's,
 * ended, expired, or its account is disabled. Checked on every request, so each takes effect at once.
 */
export function accessRefusal(
  session: { readonly userId: string; readonly revokedAt: Date | null; readonly expiresAt: Date } | null,
  accountActive: boolean,
  claims: { readonly sub: string },
): AuthenticationFailure | undefined {
  if (session?.userId !== claims.sub) return new AuthenticationFailure(AuthReason.TOKEN_INVALID);
  if (session.revokedAt) return new AuthenticationFailure(AuthReason.TOKEN_REVOKED);
  if (session.expiresAt.getTime() <= Date.now()) return new AuthenticationFailure(AuthReason.TOKEN_EXPIRED);
  if (!accountActive) return new AuthenticationFailure(AuthReason.ACCOUNT_DISABLED);
  return undefined;
}

/** An entity's eagerly loaded scalar properties that have columns. */
function eagerScalars<T extends object>(meta: EntityMetadata<T>): EntityProperty<T>[] {
  return meta.props.filter((prop) => prop.kind === ReferenceKind.SCALAR && prop.lazy !== true && prop.persist !== false);
}

function columnOf<T extends object>(meta: EntityMetadata<T>, name: string): string {
  const found = meta.props.find((prop) => prop.name === name)?.fieldNames[0];
  if (found === undefined) throw new Error(`${meta.className}.${name} is not mapped`);
  return found;
}

const queries = new WeakMap<MetadataStorage, ViewerQuery>();

/**
 * The viewer and its session in one primary-key lookup, with fixed SQL text: this runs on every
 * authenticated request. The user's column list comes from the ORM's metadata, so a column added
 * to `User` reaches the snapshot (and `me`) without anyone editing this query.
 */
export class ViewerQuery implements KeyedQuery {
  /** With one parameter, `$1`: the session id. */
  readonly text: string;
  /** The same for several sessions at once: `$1` an array of session ids. */
  readonly batchText: string;
  /** The select-list position of the session id, each row's key. */
  readonly keyColumn: number;
  private readonly userMeta: EntityMetadata<User>;
  private readonly sessionMeta: EntityMetadata<Session>;
  private readonly userProperties: readonly string[];
  /** The select list in order: the user's columns, then the session's. */
  private readonly userColumns: readonly string[];
  private readonly sessionColumns: readonly string[];

  private constructor(metadata: MetadataStorage) {
    this.userMeta = metadata.get(User);
    this.sessionMeta = metadata.get(Session);
    const userProps = eagerScalars(this.userMeta);
    this.userProperties = userProps.map((prop) => prop.name);
    this.userColumns = userProps.flatMap((prop) => prop.fieldNames);
    this.sessionColumns = SESSION_PROPERTIES.map((name) => columnOf(this.sessionMeta, name));
    const select = [
      ...this.userColumns.map((column) => `u."${column}" as "${USER_PREFIX}${column}"`),
      ...this.sessionColumns.map((column) => `s."${column}" as "${SESSION_PREFIX}${column}"`),
    ];
    const from =
      `select ${select.join(', ')} from "${this.sessionMeta.tableName}" s join "${this.userMeta.tableName}" u` +
      ` on u."${columnOf(this.userMeta, 'id')}" = s."${columnOf(this.sessionMeta, 'user')}"` +
      ` where s."${columnOf(this.sessionMeta, 'id')}"`;
    this.text = `${from} = $1`;
    this.batchText = `${from} = any($1::uuid[])`;
    this.keyColumn = this.userColumns.length + SESSION_PROPERTIES.indexOf('id');
  }

  /** The query of one ORM's metadata, built once. */
  static of(metadata: MetadataStorage): ViewerQuery {
    let query = queries.get(metadata);
    if (!query) {
      query = new ViewerQuery(metadata);
      queries.set(metadata, query);
    }
    return query;
  }

  /**
   * The snapshot of one result row (its values in select-list order, as the driver converts them),
   * the values then converted as the ORM converts an entity's (dates, booleans, custom types); no
   * entity made.
   */
  viewerOf(comparator: EntityComparator, row: PositionalRow): Viewer {
    const userRow: Record<string, unknown> = {};
    const sessionRow: Record<string, unknown> = {};
    const offset = this.userColumns.length;
    this.userColumns.forEach((column, i) => {
      userRow[column] = row[i];
    });
    this.sessionColumns.forEach((column, i) => {
      sessionRow[column] = row[offset + i];
    });
    const user = comparator.mapResult(this.userMeta, userRow) as Record<string, unknown>;
    const session = comparator.mapResult(this.sessionMeta, sessionRow) as Record<string, unknown>;
    return {
      user: new UserSnapshot(user),
      session: Object.freeze({
        id: session['id'],
        userId: session['user'],
        createdAt: session['createdAt'],
        lastUsedAt: session['lastUsedAt'],
        expiresAt: session['expiresAt'],
        revokedAt: session['revokedAt'],
        refreshTransport: session['refreshTransport'],
        amr: session['amr'],
      }) as ViewerSession,
    };
  }

  /** The snapshot of a user and session just written (a sign-in), with the same properties as a row gives. */
  viewerOfEntities(user: User, session: Session): Viewer {
    const properties: Record<string, unknown> = {};
    for (const name of this.userProperties) properties[name] = user[name as keyof User];
    return {
      user: new UserSnapshot(properties),
      session: Object.freeze({
        id: session.id,
        userId: user.id,
        createdAt: session.createdAt,
        lastUsedAt: session.lastUsedAt,
        expiresAt: session.expiresAt,
        revokedAt: session.revokedAt,
        refreshTransport: session.refreshTransport,
        amr: session.amr,
      }),
    };
  }
}

/**
 * Reads the viewer of verified access claims on every authenticated request: one indexed lookup,
 * a prepared statement on a PostgreSQL server (`preparedStatements`), mapped to a snapshot. A
 * revoked or expired session, a disabled account or a changed role is seen on the very next
 * request, since nothing is cached between requests.
 */
export class ViewerReader {
  private readonly query: ViewerQuery;
  private readonly statement: PreparedStatement;

  constructor(
    private readonly orm: Orm,
    preparedStatements: boolean,
    batches?: BatchObserver,
  ) {
    this.query = ViewerQuery.of(orm.getMetadata());
    this.statement = new PreparedStatement(orm, 'viewer', this.query, preparedStatements, batches);
  }

  async read(claims: AccessClaims): Promise<Viewer> {
    if (!isUuid(claims.sid)) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    // In the text form PostgreSQL returns a uuid in (lower case), which the batch's rows are matched by.
    const [row] = await this.statement.rows(claims.sid.toLowerCase());
    if (!row) throw new AuthenticationFailure(AuthReason.TOKEN_INVALID);
    const viewer = this.query.viewerOf(this.orm.em.getComparator(), row);
    const refusal = accessRefusal(viewer.session, viewer.user.isActive, claims);
    if (refusal) throw refusal;
    return viewer;
  }
}
