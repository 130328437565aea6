import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import { AuthReason, AuthenticationFailure } from '../errors';
import { emailOfInput, RateLimited, signedInUser } from '../rate-limits/rate-limited.decorator';
import type { IssuedSession } from '../sessions/session.service';
import type { AuthService } from './auth.service';
import { AuthPayload, ChangePasswordInput, LoginInput, SignupInput, TokenTransport } from './auth.types';

@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Mutation(() => AuthPayload, { description: 'Creates an account (always role USER) and signs it in.' })
  @RateLimited('signup', { ip: true, account: emailOfInput })
  async signup(@Arg('input', () => SignupInput) input: SignupInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return payload(ctx, await this.auth.signup(ctx.em, input, ctx.client), input.tokenTransport);
  }

  @Mutation(() => AuthPayload, { description: 'Starts a session. Unknown email and wrong password fail alike.' })
  @RateLimited('login', { ip: true, account: emailOfInput })
  async login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return payload(ctx, await this.auth.login(ctx.em, input, ctx.client), input.tokenTransport);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Exchanges a refresh token (single use) for a new pair. Token omitted: read from the refresh cookie, answered in cookie mode.',
  })
  @RateLimited('refreshToken', { ip: true })
  async refreshToken(@Arg('token', () => String, { nullable: true }) token: string | null, @Ctx() ctx: Context): Promise<AuthPayload> {
    const transport = token ? TokenTransport.BODY : TokenTransport.COOKIE;
    const presented = token ?? ctx.refreshCookie.read();
    if (!presented) throw new AuthenticationFailure(AuthReason.TOKEN_MISSING, 'No refresh token was given and no refresh cookie was sent');
    return payload(ctx, await this.auth.refresh(ctx.em, presented, ctx.client), transport);
  }

  @Mutation(() => AuthPayload, { nullable: true, description: 'Ends every other session and returns a fresh pair for this one.' })
  @Auth()
  @RateLimited('changePassword', { ip: true, account: signedInUser })
  async changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    const issued = await this.auth.changePassword(ctx.em, await ctx.auth.viewer(), input, ctx.client);
    return payload(ctx, issued, ctx.refreshCookie.read() ? TokenTransport.COOKIE : TokenTransport.BODY);
  }
}

/**
 * The answer of a sign-in: the rest of the request acts as the session just issued, and the
 * refresh token travels in the body or, in cookie mode, only in the HttpOnly cookie.
 */
function payload(
  ctx: Context,
  { user, session, access, refresh }: IssuedSession,
  transport: TokenTransport | null | undefined,
): AuthPayload {
  ctx.auth.signedInAs({ user, session });
  const cookieMode = transport === TokenTransport.COOKIE;
  if (cookieMode) ctx.refreshCookie.set(refresh.token, refresh.expiresAt);
  return Object.assign(new AuthPayload(), {
    accessToken: access.token,
    accessTokenExpiresAt: access.expiresAt,
    refreshToken: cookieMode ? null : refresh.token,
    user,
  });
}
