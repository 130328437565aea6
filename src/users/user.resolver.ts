import { Arg, Args, Ctx, ID, Query, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import { Role } from '../access/role';
import type { Context } from '../context';
import type { ConnectionShape } from '../graphql/connection';
import { User } from './user.entity';
import type { UserSnapshot } from './user.snapshot';
import type { UserService } from './user.service';
import { UserConnection, UsersArgs } from './user.types';

@Resolver(() => User)
export class UserResolver {
  constructor(private readonly userService: UserService) {}

  @Query(() => User, { nullable: true, description: 'The signed-in user.' })
  @Auth()
  async me(@Ctx() ctx: Context): Promise<UserSnapshot> {
    return (await ctx.auth.viewer()).user;
  }

  @Query(() => UserConnection, { nullable: true, description: 'Every account, newest last.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  users(@Args(() => UsersArgs) args: UsersArgs, @Ctx() ctx: Context): Promise<ConnectionShape<User>> {
    return this.userService.list(ctx.unitOfWork.em, args);
  }

  @Query(() => User, { nullable: true, description: 'One account by id; null when there is none.' })
  @Auth({ roles: [Role.MODERATOR, Role.ADMIN] })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<User | null> {
    return this.userService.findById(ctx.unitOfWork.em, id);
  }
}
