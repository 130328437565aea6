import { MaxLength } from 'class-validator';
import { IsSearchText } from '../validation/validators';
import { ArgsType, Field, ObjectType } from 'type-graphql';
import { Role } from '../access/role';
import { Connection, PageArgs } from '../graphql/connection';
import { User } from './user.entity';

export const USERS_PAGE_DEFAULT = 20;

@ArgsType()
export class UsersArgs extends PageArgs(USERS_PAGE_DEFAULT) {
  @Field(() => Role, { nullable: true })
  role?: Role | null;

  @Field(() => String, { nullable: true, description: 'Matches part of the name or the email, ignoring case.' })
  @MaxLength(100, { message: 'must be at most 100 characters' })
  @IsSearchText()
  search?: string | null;
}

@ObjectType()
export class UserConnection extends Connection(User, 'How many users match the filters, all pages together.') {}
