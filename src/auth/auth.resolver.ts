import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { Auth } from './auth.decorator';
import type { Context } from '../context';
import { emailOfInput, RateLimited, signedInUser } from '../rate-limits/rate-limited.decorator';
import { AuthPayload, ChangePasswordInput, LoginInput, SignupInput } from './auth.types';

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Creates an account (always role USER) and signs it in.' })
  @RateLimited('signup', { ip: true, account: emailOfInput })
  signup(@Arg('input', () => SignupInput) input: SignupInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return ctx.services.auth.signup(ctx, input);
  }

  @Mutation(() => AuthPayload, { description: 'Starts a session. Unknown email and wrong password fail alike.' })
  @RateLimited('login', { ip: true, account: emailOfInput })
  login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return ctx.services.auth.login(ctx, input);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Exchanges a refresh token (single use) for a new pair. Token omitted: read from the refresh cookie, answered in cookie mode.',
  })
  @RateLimited('refreshToken', { ip: true })
  refreshToken(@Arg('token', () => String, { nullable: true }) token: string | null, @Ctx() ctx: Context): Promise<AuthPayload> {
    return ctx.services.auth.refresh(ctx, token);
  }

  @Mutation(() => AuthPayload, { nullable: true, description: 'Ends every other session and returns a fresh pair for this one.' })
  @Auth()
  @RateLimited('changePassword', { ip: true, account: signedInUser })
  changePassword(@Arg('input', () => ChangePasswordInput) input: ChangePasswordInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return ctx.services.auth.changePassword(ctx, input);
  }
}
