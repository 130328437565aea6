import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import type { SessionService } from './session.service';
import { SessionView, type SessionSummary } from './session.types';

@Resolver()
export class SessionResolver {
  constructor(private readonly sessionService: SessionService) {}

  @Query(() => [SessionView], { nullable: true, description: "The viewer's own live sessions, newest first." })
  @Auth()
  async sessions(@Ctx() ctx: Context): Promise<SessionSummary[]> {
    return this.sessionService.listLive(ctx.unitOfWork.em, await ctx.auth.viewer());
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: "Ends one of the viewer's own sessions; false when there is no such live session.",
  })
  @Auth()
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    return this.sessionService.revokeOwn(ctx.unitOfWork.em, await ctx.auth.viewer(), id, ctx.client);
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Ends every session of the viewer, this one included.' })
  @Auth()
  async logoutAll(@Ctx() ctx: Context): Promise<boolean> {
    const viewer = await ctx.auth.viewer();
    ctx.refreshCookie.clear();
    await this.sessionService.logoutAll(ctx.unitOfWork.em, viewer, ctx.client);
    return true;
  }
}
