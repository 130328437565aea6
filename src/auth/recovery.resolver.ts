import { Arg, Args, Ctx, Mutation, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import { RateLimited, signedInUser } from '../rate-limits/rate-limited.decorator';
import { normalizeEmail } from '../validation/email';
import { authPayload } from './auth-payload';
import { AuthPayload } from './auth.types';
import type { RecoveryService } from './recovery.service';
import { ChangeEmailInput, RequestPasswordResetArgs, ResetPasswordInput, VerifyEmailArgs } from './recovery.types';

@Resolver()
export class RecoveryResolver {
  constructor(private readonly recovery: RecoveryService) {}

  @Mutation(() => Boolean, {
    description: 'Mails a reset link if an active account has this address. Always true for a well-formed email, in the same time.',
  })
  @RateLimited('passwordReset', { ip: true, account: ({ email }: { email: string }) => normalizeEmail(email) })
  requestPasswordReset(@Args(() => RequestPasswordResetArgs) { email }: RequestPasswordResetArgs, @Ctx() ctx: Context): Promise<boolean> {
    return this.recovery.requestPasswordReset(ctx.unitOfWork.em, email);
  }

  @Mutation(() => AuthPayload, { description: 'Sets a new password with a reset link, ends every session and signs in anew.' })
  @RateLimited('passwordReset', { ip: true })
  async resetPassword(@Arg('input', () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return authPayload(ctx, await this.recovery.resetPassword(ctx.unitOfWork.em, input, ctx.client, ctx.signal));
  }

  @Mutation(() => Boolean, { description: "Confirms signup's address, or the new address of changeEmail (which then takes effect)." })
  @RateLimited('verifyEmail', { ip: true })
  verifyEmail(@Args(() => VerifyEmailArgs) { token }: VerifyEmailArgs, @Ctx() ctx: Context): Promise<boolean> {
    return this.recovery.verifyEmail(ctx.unitOfWork.em, token, ctx.client);
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: "Mails a new verification link to the viewer's own address; false when it is verified.",
  })
  @Auth()
  @RateLimited('resendVerification', { account: signedInUser })
  async resendVerificationEmail(@Ctx() ctx: Context): Promise<boolean> {
    return this.recovery.resendVerification(ctx.unitOfWork.em, await ctx.auth.viewer(), ctx.client);
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Mails a link to the new address and a notice to the old one; the address changes once the link is used.',
  })
  @Auth()
  @RateLimited('changeEmail', { account: signedInUser })
  async changeEmail(@Arg('input', () => ChangeEmailInput) input: ChangeEmailInput, @Ctx() ctx: Context): Promise<boolean> {
    return this.recovery.changeEmail(ctx.unitOfWork.em, await ctx.auth.viewer(), input, ctx.client, ctx.signal);
  }
}
