// OAuth wire shapes: the /v1/token request body and the five-field token response.
import { Type, type Static } from '@sinclair/typebox';

export const grantTypes = ['client_credentials', 'refresh_token', 'authorization_code'] as const;
export type GrantType = (typeof grantTypes)[number];

export const TokenRequest = Type.Object(
  {
    grantType: Type.String(),
    refreshToken: Type.Optional(Type.String()),
    code: Type.Optional(Type.String()),
    redirectUri: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type TokenRequest = Static<typeof TokenRequest>;

/** All five fields always present; lifetimes are JSON numbers (SDKs do arithmetic on them). */
export const TokenResponse = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer(),
  refreshToken: Type.String(),
  refreshTokenExpiresIn: Type.Integer(),
});
export type TokenResponse = Static<typeof TokenResponse>;
