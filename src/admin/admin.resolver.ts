import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import { Role } from '../access/role';
import { originOf } from '../audit/audit.service';
import type { Context } from '../context';
import { User } from '../users/user.entity';
import type { AdminService } from './admin.service';

@Resolver()
export class AdminResolver {
  constructor(private readonly admin: AdminService) {}

  @Mutation(() => User, { nullable: true, description: 'Takes effect on the next request of every token of that user.' })
  @Auth({ roles: [Role.ADMIN] })
  async setUserRole(@Arg('userId', () => ID) userId: string, @Arg('role', () => Role) role: Role, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return this.admin.setRole(ctx.unitOfWork.em, originOf(ctx.client, admin.id), userId, role);
  }

  @Mutation(() => User, { nullable: true, description: "Ends the user's sessions; their access tokens stop working at once." })
  @Auth({ roles: [Role.ADMIN] })
  async deactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return this.admin.setActive(ctx.unitOfWork.em, originOf(ctx.client, admin.id), userId, false);
  }

  @Mutation(() => User, {
    nullable: true,
    description:
      "Removes the user's TOTP authenticator, recovery codes and pending second steps: their next login asks for the password only.",
  })
  @Auth({ roles: [Role.ADMIN] })
  async resetUserMfa(@Arg('userId', () => ID) userId: string, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return this.admin.resetMfa(ctx.unitOfWork.em, originOf(ctx.client, admin.id), userId);
  }

  @Mutation(() => User, { nullable: true, description: 'The user can log in again; ended sessions stay ended.' })
  @Auth({ roles: [Role.ADMIN] })
  async reactivateUser(@Arg('userId', () => ID) userId: string, @Ctx() ctx: Context): Promise<User> {
    const { user: admin } = await ctx.auth.viewer();
    return this.admin.setActive(ctx.unitOfWork.em, originOf(ctx.client, admin.id), userId, true);
  }
}
