import { IsString, MaxLength } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { PASSWORD_MAX_UNITS } from '../credentials/password.policy';
import { TokenTransport } from '../sessions/token-transport';
import { IsAccountEmail, IsNewPassword } from '../validation/validators';

/** Mailed tokens are 43 characters; anything much longer is not one. */
const TOKEN_MAX = 128;

@ArgsType()
export class RequestPasswordResetArgs {
  @Field(() => String)
  @IsAccountEmail()
  email!: string;
}

@ArgsType()
export class VerifyEmailArgs {
  @Field(() => String, { description: 'The token of the link (the `token=` part).' })
  @IsString()
  @MaxLength(TOKEN_MAX, { message: 'is not a valid token' })
  token!: string;
}

@InputType()
export class ResetPasswordInput {
  @Field(() => String, { description: 'The token of the link (the `token=` part).' })
  @IsString()
  @MaxLength(TOKEN_MAX, { message: 'is not a valid token' })
  token!: string;

  @Field(() => String, { description: '8 to 256 characters; not a commonly used password, nor the email.' })
  @IsNewPassword()
  newPassword!: string;

  @Field(() => TokenTransport, { nullable: true, defaultValue: TokenTransport.BODY })
  tokenTransport?: TokenTransport | null;
}

@InputType()
export class ChangeEmailInput {
  @Field(() => String)
  @IsAccountEmail()
  newEmail!: string;

  @Field(() => String)
  @IsString()
  @MaxLength(PASSWORD_MAX_UNITS, { message: 'is too long' })
  currentPassword!: string;
}
