import { IsOptional, Max, MaxLength, Min } from 'class-validator';
import { ArgsType, Field, Int, ObjectType } from 'type-graphql';
import { Role } from './role';
import { User } from './user.entity';

export const USERS_PAGE_MAX = 100;
export const USERS_PAGE_DEFAULT = 20;

@ArgsType()
export class UsersArgs {
  @Field(() => Int, { nullable: true, defaultValue: USERS_PAGE_DEFAULT, description: `Page size, 1 to ${USERS_PAGE_MAX}.` })
  @IsOptional()
  @Min(1, { message: `must be between 1 and ${USERS_PAGE_MAX}` })
  @Max(USERS_PAGE_MAX, { message: `must be between 1 and ${USERS_PAGE_MAX}` })
  first?: number | null = USERS_PAGE_DEFAULT;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  @MaxLength(64, { message: 'is not a valid cursor' })
  after?: string | null;

  @Field(() => Role, { nullable: true })
  role?: Role | null;

  @Field(() => String, { nullable: true, description: 'Matches part of the name or the email, ignoring case.' })
  @MaxLength(100, { message: 'must be at most 100 characters' })
  search?: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class UserEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => User)
  node!: User;
}

@ObjectType()
export class UserConnection {
  @Field(() => [UserEdge])
  edges!: UserEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'How many users match the filters, all pages together.' })
  totalCount!: number;
}
