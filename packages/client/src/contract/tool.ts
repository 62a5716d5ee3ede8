// Signature tool endpoints (spec "Tool"): generate and verify, unauthenticated.
import { Type, type Static } from '@sinclair/typebox';
import { limits } from './limits.js';

const common = {
  data: Type.Optional(Type.Unknown()),
  method: Type.String({ minLength: 1, maxLength: 16 }),
  nonceStr: Type.String({ minLength: 1, maxLength: limits.nonceCharsMax }),
  requestUrl: Type.Optional(Type.String({ maxLength: limits.redirectUriCharsMax })),
  signType: Type.String({ minLength: 1, maxLength: 16 }),
  timestamp: Type.String({ minLength: 1, maxLength: limits.timestampHeaderCharsMax }),
};

export const GenerateSignatureRequest = Type.Object(
  { ...common, privateKey: Type.String({ minLength: 1, maxLength: limits.pemCharsMax }) },
  { additionalProperties: true },
);
export type GenerateSignatureRequest = Static<typeof GenerateSignatureRequest>;

export const GenerateSignatureResponse = Type.Object({
  data: Type.String(),
  sequenceData: Type.String(),
  signature: Type.String(),
});
export type GenerateSignatureResponse = Static<typeof GenerateSignatureResponse>;

export const VerifySignatureRequest = Type.Object(
  {
    ...common,
    publicKey: Type.String({ minLength: 1, maxLength: limits.pemCharsMax }),
    signature: Type.String({ minLength: 1, maxLength: limits.signatureHeaderCharsMax }),
  },
  { additionalProperties: true },
);
export type VerifySignatureRequest = Static<typeof VerifySignatureRequest>;

export const VerifySignatureResponse = Type.Object({ isValid: Type.Boolean() });
export type VerifySignatureResponse = Static<typeof VerifySignatureResponse>;
