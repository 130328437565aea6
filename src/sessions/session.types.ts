import { Field, ID, ObjectType } from 'type-graphql';

/** A live session as its owner sees it. */
export interface SessionSummary {
  readonly id: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
  readonly expiresAt: Date;
  readonly userAgent: string | null;
  readonly ip: string | null;
  readonly current: boolean;
}

@ObjectType('Session', { description: 'A signed-in device or tab: one login and the refresh tokens descended from it.' })
export class SessionView implements SessionSummary {
  @Field(() => ID)
  id!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  lastUsedAt!: Date;

  @Field(() => Date, { description: 'The absolute end of the session; refreshing does not extend it.' })
  expiresAt!: Date;

  @Field(() => String, { nullable: true })
  userAgent!: string | null;

  @Field(() => String, { nullable: true })
  ip!: string | null;

  @Field(() => Boolean, { description: 'True for the session of the access token making this request.' })
  current!: boolean;
}
