import { Args, Ctx, Query, Resolver } from 'type-graphql';
import { Auth } from '../auth/auth.decorator';
import type { Context } from '../context';
import { Role } from './role';
import { User } from './user.entity';
import { UserConnection, UsersArgs } from './user.types';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'The signed-in user.' })
  @Auth()
  async me(@Ctx() ctx: Context): Promise<User> {
    return (await ctx.auth.viewer()).user;
  }

  @Query(() => UserConnection, { nullable: true, description: 'Every account, newest last.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  users(@Args(() => UsersArgs) args: UsersArgs, @Ctx() ctx: Context): Promise<UserConnection> {
    return ctx.services.users.list(ctx.em, args);
  }
}
