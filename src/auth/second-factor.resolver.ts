import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import { userOfMfaToken } from '../mfa/mfa.service';
import { RateLimited, signedInUser } from '../rate-limits/rate-limited.decorator';
import { authPayload } from './auth-payload';
import type { AuthService } from './auth.service';
import { AuthPayload } from './auth.types';
import type { SecondFactorService } from './second-factor.service';
import { TotpEnrollment, VerifyMfaInput } from './second-factor.types';

/** The account the second step of a login is about: the user its mfaToken names. */
const userOfInput = ({ input }: { input: VerifyMfaInput }): string => userOfMfaToken(input.mfaToken) ?? 'malformed mfaToken';

@Resolver()
export class SecondFactorResolver {
  constructor(
    private readonly secondFactors: SecondFactorService,
    private readonly auth: AuthService,
  ) {}

  @Mutation(() => TotpEnrollment, {
    nullable: true,
    description: 'Starts TOTP enrolment: a new seed, not active until confirmTotp. Refused while TOTP is active.',
  })
  @Auth()
  async enrollTotp(@Ctx() ctx: Context): Promise<TotpEnrollment> {
    return Object.assign(new TotpEnrollment(), await this.secondFactors.enrollTotp(ctx.unitOfWork.em, await ctx.auth.viewer()));
  }

  @Mutation(() => [String], {
    nullable: true,
    description: 'Activates TOTP with a first code of the new authenticator; returns ten recovery codes, shown this once.',
  })
  @Auth()
  @RateLimited('mfa', { account: signedInUser })
  async confirmTotp(@Arg('code', () => String) code: string, @Ctx() ctx: Context): Promise<string[]> {
    return this.secondFactors.confirmTotp(ctx.unitOfWork.em, await ctx.auth.viewer(), code, ctx.client);
  }

  @Mutation(() => Boolean, {
    nullable: true,
    description: 'Turns TOTP off (and removes the recovery codes), with a current code or a recovery code.',
  })
  @Auth()
  @RateLimited('mfa', { account: signedInUser })
  async disableTotp(@Arg('code', () => String) code: string, @Ctx() ctx: Context): Promise<boolean> {
    return this.secondFactors.disableTotp(ctx.unitOfWork.em, await ctx.auth.viewer(), code, ctx.client);
  }

  @Mutation(() => [String], {
    nullable: true,
    description: 'Ten new recovery codes, with a current code or a recovery code; the earlier ones stop working.',
  })
  @Auth()
  @RateLimited('mfa', { account: signedInUser })
  async regenerateRecoveryCodes(@Arg('code', () => String) code: string, @Ctx() ctx: Context): Promise<string[]> {
    return this.secondFactors.regenerateRecoveryCodes(ctx.unitOfWork.em, await ctx.auth.viewer(), code, ctx.client);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Second step of a login (or a password reset) that answered MFA_REQUIRED: its mfaToken and a current TOTP code or a recovery code give the session.',
  })
  @RateLimited('mfa', { ip: true, account: userOfInput })
  async verifyMfa(@Arg('input', () => VerifyMfaInput) input: VerifyMfaInput, @Ctx() ctx: Context): Promise<AuthPayload> {
    return authPayload(ctx, await this.auth.verifyMfa(ctx.unitOfWork.em, input, ctx.client));
  }
}
