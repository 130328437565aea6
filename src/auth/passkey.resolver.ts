import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { JSONObjectResolver } from 'graphql-scalars';
import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { Auth } from '../access/auth.decorator';
import type { Context } from '../context';
import { InvalidInput } from '../errors';
import { Passkey } from '../passkeys/passkey.entities';
import { PASSKEY_NAME_MAX_LENGTH } from '../passkeys/passkey.service';
import { RateLimited } from '../rate-limits/rate-limited.decorator';
import { TokenTransport } from '../sessions/token-transport';
import { isUuid } from '../db/uuid';
import { authPayload } from './auth-payload';
import { AuthPayload } from './auth.types';
import type { PasskeyFlows } from './passkey-flows.service';

/** What a browser's PublicKeyCredential.toJSON() gives: checked for shape here, for meaning by @simplewebauthn/server. */
function credentialJson(value: Record<string, unknown>, kind: 'attestationObject' | 'signature'): Record<string, unknown> {
  const response = value['response'] as Record<string, unknown> | undefined;
  const valid =
    typeof value['id'] === 'string' &&
    typeof value['rawId'] === 'string' &&
    value['type'] === 'public-key' &&
    typeof response === 'object' &&
    typeof response['clientDataJSON'] === 'string' &&
    typeof response[kind] === 'string' &&
    (response['userHandle'] === undefined || typeof response['userHandle'] === 'string') &&
    JSON.stringify(value).length <= 64 * 1024;
  if (!valid) throw new InvalidInput({ response: 'is not a PublicKeyCredential in its JSON form' });
  return { clientExtensionResults: {}, ...value };
}

@Resolver()
export class PasskeyResolver {
  constructor(private readonly flows: PasskeyFlows) {}

  @Query(() => [Passkey], { nullable: true, description: "The viewer's own passkeys, oldest first." })
  @Auth()
  async passkeys(@Ctx() ctx: Context): Promise<Passkey[]> {
    return this.flows.list(ctx.unitOfWork.em, await ctx.auth.viewer());
  }

  @Mutation(() => JSONObjectResolver, {
    nullable: true,
    description: 'PublicKeyCredentialCreationOptionsJSON for navigator.credentials.create(); finish within 5 minutes.',
  })
  @Auth()
  async startPasskeyRegistration(@Ctx() ctx: Context): Promise<object> {
    return this.flows.startRegistration(ctx.unitOfWork.em, await ctx.auth.viewer());
  }

  @Mutation(() => Passkey, {
    nullable: true,
    description: 'Stores the passkey the browser created for the challenge of startPasskeyRegistration.',
  })
  @Auth()
  async finishPasskeyRegistration(
    @Arg('response', () => JSONObjectResolver) response: Record<string, unknown>,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Ctx() ctx: Context,
  ): Promise<Passkey> {
    const trimmed = name?.trim() ?? '';
    if (trimmed.length > PASSKEY_NAME_MAX_LENGTH || /\p{Cc}/u.test(trimmed)) {
      throw new InvalidInput({ name: `must be at most ${String(PASSKEY_NAME_MAX_LENGTH)} characters, without control characters` });
    }
    const json = credentialJson(response, 'attestationObject') as unknown as RegistrationResponseJSON;
    return this.flows.finishRegistration(ctx.unitOfWork.em, await ctx.auth.viewer(), json, trimmed || null, ctx.client);
  }

  @Mutation(() => Boolean, { nullable: true, description: 'Deletes one of your passkeys; false when you have none with that id.' })
  @Auth()
  async deletePasskey(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<boolean> {
    if (!isUuid(id)) return false;
    return this.flows.delete(ctx.unitOfWork.em, await ctx.auth.viewer(), id, ctx.client);
  }

  @Mutation(() => JSONObjectResolver, {
    description: 'PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get() with discoverable credentials (no email needed).',
  })
  @RateLimited('passkeyLogin', { ip: true })
  async startPasskeyLogin(@Ctx() ctx: Context): Promise<object> {
    return this.flows.startLogin(ctx.unitOfWork.em);
  }

  @Mutation(() => AuthPayload, {
    description: 'Signs in with the passkey assertion for the challenge of startPasskeyLogin; no password, no second factor.',
  })
  @RateLimited('passkeyLogin', { ip: true })
  async finishPasskeyLogin(
    @Arg('response', () => JSONObjectResolver) response: Record<string, unknown>,
    @Arg('tokenTransport', () => TokenTransport, { nullable: true, defaultValue: TokenTransport.BODY })
    tokenTransport: TokenTransport | null,
    @Ctx() ctx: Context,
  ): Promise<AuthPayload> {
    const json = credentialJson(response, 'signature') as unknown as AuthenticationResponseJSON;
    return authPayload(ctx, await this.flows.finishLogin(ctx.unitOfWork.em, json, tokenTransport ?? TokenTransport.BODY, ctx.client));
  }
}
