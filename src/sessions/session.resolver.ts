import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
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
    return ctx.services.sessions.revokeOwn(ctx.em, await ctx.auth.viewer(), id);
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Ends the session of the access token used.' })
  @Auth()
  async logout(@Ctx() ctx: Context): Promise<boolean> {
    const { session } = await ctx.auth.viewer();
    return ctx.services.sessions.revoke(ctx.em, session.id);
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Ends every session of the viewer, this one included.' })
  @Auth()
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const { user } = await ctx.auth.viewer();
    await ctx.services.sessions.revokeAllOf(ctx.em, user.id);
    return true;
  }
}
