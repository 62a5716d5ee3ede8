// The user (merchant staff account) shape (spec "User"); storeId is an array of store ids.
import { Type, type Static } from '@sinclair/typebox';

export const User = Type.Object({
  id: Type.String(),
  firstName: Type.String(),
  lastName: Type.String(),
  countryCode: Type.String(),
  phoneNumber: Type.String(),
  email: Type.String(),
  avatarUrl: Type.String(),
  status: Type.String(),
  storeId: Type.Array(Type.String()),
  isActive: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type User = Static<typeof User>;
