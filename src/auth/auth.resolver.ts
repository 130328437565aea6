import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import { AuthReason, AuthenticationFailure } from '../errors';
import { emailOfInput, RateLimited, signedInUser } from '../rate-limits/rate-limited.decorator';
import { authPayload } from './auth-payload';
import type { AuthService } from './auth.service';
import type { Viewer } from '../sessions/viewer';
import { AuthPayload, ChangePasswordInput, LoginInput, SignupInput } from './auth.types';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Mutation(() => AuthPayload, { description: 'Creates an account (always role USER) and signs it in.' })
  @RateLimited('signup', { ip: true, account: emailOfInput })
  async signup(@Arg('input', () => SignupInput) input: SignupInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return authPayload(ctx, await this.auth.signup(ctx.unitOfWork.em, input, ctx.client, ctx.signal));
  }

  @Mutation(() => AuthPayload, { description: 'Starts a session. Unknown email and wrong password fail alike.' })
  @RateLimited('login', { ip: true, account: emailOfInput })
  async login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return authPayload(ctx, await this.auth.login(ctx.unitOfWork.em, input, ctx.client, ctx.signal));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Exchanges a refresh token (single use) for a new pair. Token omitted: read from the refresh cookie, answered in cookie mode.',
  })
  @RateLimited('refreshToken', { ip: true })
  async refreshToken(@Arg('token', () => String, { nullable: true }) token: string | null, @Ctx() ctx: Context): Promise<AuthPayload> {
    const presented = token ?? ctx.refreshCookie.read();
    if (!presented) throw new AuthenticationFailure(AuthReason.TOKEN_MISSING, 'No refresh token was given and no refresh cookie was sent');
    return authPayload(ctx, await this.auth.refresh(ctx.unitOfWork.em, presented, ctx.client));
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description:
      'Ends the session of the access token used; without a usable access token, the session of the refresh cookie (cookie mode). Clears the cookie.',
  })
  async logout(@Ctx() ctx: Context): Promise<boolean> {
    const cookie = ctx.refreshCookie.read();
    let viewer: Viewer;
    try {
      viewer = await ctx.auth.viewer();
    } catch (error) {
      if (!(error instanceof AuthenticationFailure) || cookie === undefined) throw error;
      ctx.refreshCookie.clear();
      return this.auth.logoutWithRefreshToken(ctx.unitOfWork.em, cookie, ctx.client);
    }
    ctx.refreshCookie.clear();
    return this.auth.logout(ctx.unitOfWork.em, viewer, ctx.client);
  }

  @Mutation(() => AuthPayload, { nullable: true, description: 'Ends every other session and returns a fresh pair for this one.' })
  @Auth()
  @RateLimited('changePassword', { ip: true, account: signedInUser })
  async changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return authPayload(ctx, await this.auth.changePassword(ctx.unitOfWork.em, await ctx.auth.viewer(), input, ctx.client, ctx.signal));
  }
}
