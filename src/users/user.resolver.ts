import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { originOf } from '../audit/audit.service';
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

  @Query(() => User, { nullable: true, description: 'One account by id; null when there is none.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<User | null> {
    return ctx.services.users.findById(ctx.em, id);
  }

  @Mutation(() => User, { nullable: true, description: 'Takes effect on the next request of every token of that user.' })
  @Auth({ roles: [Role.ADMIN] })
  async setUserRole(@Arg('userId', () => ID) userId: string, @Arg('role', () => Role) role: Role, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return ctx.services.users.setRole(ctx.em, userId, role, originOf(ctx, admin.id));
  }

  @Mutation(() => User, { nullable: true, description: "Ends the user's sessions; their access tokens stop working at once." })
  @Auth({ roles: [Role.ADMIN] })
  async deactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return ctx.services.users.setActive(ctx.em, userId, false, originOf(ctx, admin.id));
  }

  @Mutation(() => User, { nullable: true, description: 'The user can log in again; ended sessions stay ended.' })
  @Auth({ roles: [Role.ADMIN] })
  async reactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return ctx.services.users.setActive(ctx.em, userId, true, originOf(ctx, admin.id));
  }
}
