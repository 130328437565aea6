import { ReferenceKind, type EntityClass, type MetadataStorage } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { User } from '../users/user.entity';
import { Session } from './session.entity';

/** The signed-in account of a request and the session its access token names. */
export interface Viewer {
  readonly user: User;
  readonly session: Session;
}

const USER_PREFIX = 'u__';
const SESSION_PREFIX = 's__';

/** The columns of an entity's eagerly loaded scalar properties, as the ORM maps them. */
function scalarColumns<T extends object>(metadata: MetadataStorage, entity: EntityClass<T>): string[] {
  return metadata
    .get(entity)
    .props.filter((prop) => prop.kind === ReferenceKind.SCALAR && prop.lazy !== true && prop.persist !== false)
    .flatMap((prop) => prop.fieldNames);
}

/**
 * The viewer and its session in one primary-key lookup, with fixed SQL text: this runs on every
 * authenticated request. The column lists come from the ORM's metadata, so a column added to
 * `User` or `Session` is selected without anyone editing this query.
 */
export class ViewerQuery {
  readonly sql: string;
  private readonly userColumns: readonly string[];
  private readonly sessionColumns: readonly string[];

  constructor(metadata: MetadataStorage) {
    this.userColumns = scalarColumns(metadata, User);
    this.sessionColumns = scalarColumns(metadata, Session);
    const users = metadata.get(User);
    const sessions = metadata.get(Session);
    const column = (meta: typeof users | typeof sessions, name: string): string => {
      const found = meta.props.find((prop) => prop.name === name)?.fieldNames[0];
      if (found === undefined) throw new Error(`${meta.className}.${name} is not mapped`);
      return found;
    };
    const select = [
      ...this.userColumns.map((column) => `u."${column}" as "${USER_PREFIX}${column}"`),
      ...this.sessionColumns.map((column) => `s."${column}" as "${SESSION_PREFIX}${column}"`),
    ];
    this.sql =
      `select ${select.join(', ')} from "${sessions.tableName}" s join "${users.tableName}" u` +
      ` on u."${column(users, 'id')}" = s."${column(sessions, 'user')}" where s."${column(sessions, 'id')}" = ?`;
  }

  /** The managed entities of one result row. */
  map(em: SqlEntityManager, row: Readonly<Record<string, unknown>>): Viewer {
    const userRow: Record<string, unknown> = {};
    for (const column of this.userColumns) userRow[column] = row[USER_PREFIX + column];
    const sessionRow: Record<string, unknown> = {};
    for (const column of this.sessionColumns) sessionRow[column] = row[SESSION_PREFIX + column];
    const user = em.map(User, userRow);
    const session = em.map(Session, { ...sessionRow, user });
    return { user, session };
  }
}
