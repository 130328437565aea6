import { IsString, MaxLength } from 'class-validator';
import { Field, InputType, ObjectType } from 'type-graphql';
import { PASSWORD_MAX_UNITS } from '../credentials/password.policy';
import { TokenTransport } from '../sessions/token-transport';
import { User } from '../users/user.entity';
import { IsAccountEmail, IsDisplayName, IsNewPassword } from '../validation/validators';

@InputType()
export class SignupInput {
  @Field(() => String)
  @IsAccountEmail()
  email!: string;

  @Field(() => String, { description: '8 to 256 characters; not a commonly used password, nor the email.' })
  @IsNewPassword('email')
  password!: string;

  @Field(() => String)
  @IsDisplayName()
  name!: string;

  @Field(() => TokenTransport, { nullable: true, defaultValue: TokenTransport.BODY })
  tokenTransport?: TokenTransport | null;
}

@InputType()
export class LoginInput {
  @Field(() => String)
  @IsAccountEmail()
  email!: string;

  @Field(() => String)
  @IsString()
  @MaxLength(PASSWORD_MAX_UNITS, { message: 'is too long' })
  password!: string;

  @Field(() => TokenTransport, { nullable: true, defaultValue: TokenTransport.BODY })
  tokenTransport?: TokenTransport | null;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String)
  @IsString()
  @MaxLength(PASSWORD_MAX_UNITS, { message: 'is too long' })
  currentPassword!: string;

  @Field(() => String, { description: '8 to 256 characters; not a commonly used password, nor the email.' })
  @IsNewPassword()
  newPassword!: string;
}

@ObjectType()
export class AuthPayload {
  @Field(() => String)
  accessToken!: string;

  @Field(() => Date)
  accessTokenExpiresAt!: Date;

  @Field(() => String, { nullable: true, description: 'Null when the refresh token travels in the HttpOnly cookie.' })
  refreshToken!: string | null;

  @Field(() => User)
  user!: User;
}
