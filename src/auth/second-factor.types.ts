import { IsString, Length } from 'class-validator';
import { Field, InputType, ObjectType } from 'type-graphql';
import { TokenTransport } from '../sessions/token-transport';

@ObjectType({ description: 'A TOTP seed being enrolled: show the URI as a QR code, or the secret for typing in.' })
export class TotpEnrollment {
  @Field(() => String, { description: 'The seed in base32, for authenticator apps that cannot scan.' })
  secret!: string;

  @Field(() => String, { description: 'otpauth://totp/... (RFC 6238: SHA-1, 6 digits, 30 s).' })
  otpauthUri!: string;
}

@InputType()
export class VerifyMfaInput {
  @Field(() => String, { description: 'The extensions.mfaToken of the MFA_REQUIRED error.' })
  @IsString()
  @Length(1, 4096, { message: 'is not an mfaToken' })
  mfaToken!: string;

  @Field(() => String, { description: 'A current code of the authenticator app, or an unused recovery code.' })
  @IsString()
  @Length(1, 40, { message: 'is not a code' })
  code!: string;

  @Field(() => TokenTransport, {
    nullable: true,
    defaultValue: TokenTransport.BODY,
    description: 'COOKIE, or the login asked for COOKIE: the refresh token travels in the cookie only.',
  })
  tokenTransport?: TokenTransport | null;
}
