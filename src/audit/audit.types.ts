import { IsOptional, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, ID, Int, ObjectType } from 'type-graphql';
import { PageInfo } from '../users/user.types';
import { AuditEvent } from './audit-event.entity';

export const AUDIT_PAGE_MAX = 100;
export const AUDIT_PAGE_DEFAULT = 50;

@ArgsType()
export class AuditLogArgs {
  @Field(() => Int, { nullable: true, defaultValue: AUDIT_PAGE_DEFAULT, description: `Page size, 1 to ${AUDIT_PAGE_MAX}.` })
  @IsOptional()
  @Min(1, { message: `must be between 1 and ${AUDIT_PAGE_MAX}` })
  @Max(AUDIT_PAGE_MAX, { message: `must be between 1 and ${AUDIT_PAGE_MAX}` })
  first?: number | null = AUDIT_PAGE_DEFAULT;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @MaxLength(64, { message: 'is not a valid cursor' })
  after?: string | null;

  @Field(() => ID, { nullable: true, description: 'Only the events about this account (its subject).' })
  @MaxLength(64, { message: 'is not a valid user id' })
  userId?: string | null;
}

@ObjectType()
export class AuditEventEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => AuditEvent)
  node!: AuditEvent;
}

@ObjectType()
export class AuditEventConnection {
  @Field(() => [AuditEventEdge])
  edges!: AuditEventEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'How many events match the filters, all pages together.' })
  totalCount!: number;
}
