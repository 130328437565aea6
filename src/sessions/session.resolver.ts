import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { originOf } from '../audit/audit.service';
import { Auth } from '../auth/auth.decorator';
import type { Context } from '../context';
import { SessionView } from './session.types';

@Resolver()
export class SessionResolver {
  @Query(() => [SessionView], { nullable: true, description: "The viewer's own live sessions, newest first." })
  @Auth()
  async sessions(@Ctx() ctx: Context): Promise<SessionView[]> {
    return ctx.services.sessions.listLive(ctx.em, await ctx.auth.viewer());
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: "Ends one of the viewer's own sessions; false when there is no such live session.",
  })
  @Auth()
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    const viewer = await ctx.auth.viewer();
    return ctx.services.sessions.revokeOwn(ctx.em, viewer, id, originOf(ctx, viewer.user.id));
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Ends the session of the access token used.' })
  @Auth()
  async logout(@Ctx() ctx: Context): Promise<boolean> {
    const viewer = await ctx.auth.viewer();
    ctx.refreshCookie.clear();
    return ctx.services.sessions.logout(ctx.em, viewer, originOf(ctx, viewer.user.id));
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Ends every session of the viewer, this one included.' })
  @Auth()
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const viewer = await ctx.auth.viewer();
    ctx.refreshCookie.clear();
    await ctx.services.sessions.logoutAll(ctx.em, viewer, originOf(ctx, viewer.user.id));
    return true;
  }
}
