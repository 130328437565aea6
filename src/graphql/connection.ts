import { IsOptional, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { isUuid } from '../db/uuid';
import { InvalidInput } from '../errors';

/**
 * Relay-style connections over keyset pagination: one generic type, its cursor helpers and its
 * paging arguments, for every list the API pages (users, audit events).
 */

/** Every page holds at most this many items. */
export const PAGE_MAX = 100;

@ObjectType()
export class PageInfo implements PageInfoShape {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface PageInfoShape {
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

export interface Edge<T> {
  readonly cursor: string;
  readonly node: T;
}

/** One page of a list, as services return it; `Connection(...)` types it for GraphQL. */
export interface ConnectionShape<T> {
  readonly edges: readonly Edge<T>[];
  readonly pageInfo: PageInfoShape;
  readonly totalCount: number;
}

/**
 * The GraphQL types of a connection of `node`: `<Node>Edge` and the fields of `<Node>Connection`,
 * which the caller declares as `@ObjectType() class UserConnection extends Connection(User, ...) {}`.
 */
export function Connection<T extends object>(node: ClassType<T>, totalCountDescription: string): ClassType<ConnectionShape<T>> {
  @ObjectType(`${node.name}Edge`)
  class EdgeType implements Edge<T> {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  // Never reached from a resolver itself, so never emitted: only its subclasses are.
  @ObjectType(`${node.name}ConnectionFields`)
  abstract class ConnectionType implements ConnectionShape<T> {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: totalCountDescription })
    totalCount!: number;
  }
  return ConnectionType as unknown as ClassType<ConnectionShape<T>>;
}

/** `first` (1 to PAGE_MAX, `defaultSize` when omitted) and `after`, for a connection's arguments. */
export function PageArgs(defaultSize: number): ClassType<{ first?: number | null; after?: string | null }> {
  const range = `must be between 1 and ${String(PAGE_MAX)}`;
  @ArgsType()
  abstract class PageArgsType {
    @Field(() => Int, { nullable: true, defaultValue: defaultSize, description: `Page size, 1 to ${String(PAGE_MAX)}.` })
    @IsOptional()
    @Min(1, { message: range })
    @Max(PAGE_MAX, { message: range })
    first?: number | null = defaultSize;

    @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
    @MaxLength(64, { message: 'is not a valid cursor' })
    after?: string | null;
  }
  return PageArgsType as unknown as ClassType<{ first?: number | null; after?: string | null }>;
}

/** Connection cursors are the row's time-ordered id, opaque to clients. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id behind an `after` cursor, or BAD_USER_INPUT on `after`. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new InvalidInput({ after: 'is not a valid cursor' });
  return id;
}

/**
 * A connection from a keyset query that fetched `first + 1` rows: the extra row only tells
 * whether another page follows.
 */
export function connectionFrom<T extends { readonly id: string }>(
  rows: readonly T[],
  first: number,
  totalCount: number,
): ConnectionShape<T> {
  const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
}
