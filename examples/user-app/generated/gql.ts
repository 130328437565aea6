/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment SessionTokens on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n}\n\nmutation Signup($input: SignupInput!) {\n  signup(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n      createdAt\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n    }\n  }\n}\n\nmutation RefreshToken($token: String) {\n  refreshToken(token: $token) {\n    ...SessionTokens\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nmutation LogoutAll {\n  logoutAll\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...SessionTokens\n  }\n}": typeof types.SessionTokensFragmentDoc,
    "query Me {\n  me {\n    id\n    name\n    email\n    role\n    createdAt\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    createdAt\n    lastUsedAt\n    expiresAt\n    userAgent\n    ip\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}": typeof types.MeDocument,
};
const documents: Documents = {
    "fragment SessionTokens on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n}\n\nmutation Signup($input: SignupInput!) {\n  signup(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n      createdAt\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n    }\n  }\n}\n\nmutation RefreshToken($token: String) {\n  refreshToken(token: $token) {\n    ...SessionTokens\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nmutation LogoutAll {\n  logoutAll\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...SessionTokens\n  }\n}": types.SessionTokensFragmentDoc,
    "query Me {\n  me {\n    id\n    name\n    email\n    role\n    createdAt\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    createdAt\n    lastUsedAt\n    expiresAt\n    userAgent\n    ip\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}": types.MeDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment SessionTokens on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n}\n\nmutation Signup($input: SignupInput!) {\n  signup(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n      createdAt\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n    }\n  }\n}\n\nmutation RefreshToken($token: String) {\n  refreshToken(token: $token) {\n    ...SessionTokens\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nmutation LogoutAll {\n  logoutAll\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...SessionTokens\n  }\n}"): (typeof documents)["fragment SessionTokens on AuthPayload {\n  accessToken\n  accessTokenExpiresAt\n  refreshToken\n}\n\nmutation Signup($input: SignupInput!) {\n  signup(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n      createdAt\n    }\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...SessionTokens\n    user {\n      id\n      name\n      email\n      role\n    }\n  }\n}\n\nmutation RefreshToken($token: String) {\n  refreshToken(token: $token) {\n    ...SessionTokens\n  }\n}\n\nmutation Logout {\n  logout\n}\n\nmutation LogoutAll {\n  logoutAll\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...SessionTokens\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Me {\n  me {\n    id\n    name\n    email\n    role\n    createdAt\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    createdAt\n    lastUsedAt\n    expiresAt\n    userAgent\n    ip\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}"): (typeof documents)["query Me {\n  me {\n    id\n    name\n    email\n    role\n    createdAt\n  }\n}\n\nquery Sessions {\n  sessions {\n    id\n    current\n    createdAt\n    lastUsedAt\n    expiresAt\n    userAgent\n    ip\n  }\n}\n\nmutation RevokeSession($id: ID!) {\n  revokeSession(id: $id)\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;