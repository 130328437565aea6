import { Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { PASSWORD_MIN_LENGTH } from '../credentials/password.policy';

@ObjectType({ description: 'What this server offers, for clients deciding what to render before anyone signs in.' })
export class AuthConfig {
  @Field(() => Int, { description: 'Fewest characters (Unicode code points) a new password may have.' })
  passwordMinLength!: number;

  @Field(() => Boolean, { description: 'True when login and signup give no tokens before the email is verified.' })
  emailVerificationRequired!: boolean;

  @Field(() => Boolean, { description: 'TOTP authenticator apps can be enrolled (enrollTotp).' })
  totpEnabled!: boolean;

  @Field(() => Boolean, { description: 'Passkeys are configured (WEBAUTHN_RP_ID); false: the passkey operations answer FEATURE_DISABLED.' })
  passkeysEnabled!: boolean;

  @Field(() => Boolean, { description: 'The refresh token can travel in an HttpOnly cookie (tokenTransport: COOKIE).' })
  cookieModeAvailable!: boolean;
}

/** The public `authConfig` query: settings only, nothing about any account. */
@Resolver()
export class AuthConfigResolver {
  private readonly answer: AuthConfig;

  constructor(settings: { readonly requireEmailVerification: boolean; readonly webauthn: unknown }) {
    this.answer = Object.assign(new AuthConfig(), {
      passwordMinLength: PASSWORD_MIN_LENGTH,
      emailVerificationRequired: settings.requireEmailVerification,
      totpEnabled: true,
      passkeysEnabled: settings.webauthn !== undefined,
      cookieModeAvailable: true,
    });
  }

  @Query(() => AuthConfig, {
    description: 'What this server offers: password length, email verification, second factors, cookie mode. Public.',
  })
  authConfig(): AuthConfig {
    return this.answer;
  }
}
