import { MaxLength } from 'class-validator';
import { ArgsType, Field, ID, ObjectType } from 'type-graphql';
import { Connection, PageArgs } from '../graphql/connection';
import { AuditEvent } from './audit-event.entity';

export const AUDIT_PAGE_DEFAULT = 50;

@ArgsType()
export class AuditLogArgs extends PageArgs(AUDIT_PAGE_DEFAULT) {
  @Field(() => ID, { nullable: true, description: 'Only the events about this account (its subject).' })
  @MaxLength(64, { message: 'is not a valid user id' })
  userId?: string | null;
}

@ObjectType()
export class AuditEventConnection extends Connection(AuditEvent, 'How many events match the filters, all pages together.') {}
