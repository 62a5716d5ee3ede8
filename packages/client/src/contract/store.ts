// Store (outlet) shapes and the create/update request schemas (spec "Store").
import { Type, type Static } from '@sinclair/typebox';
import { limits } from './limits.js';

export const GeoLocation = Type.Object({
  latitude: Type.Number({ minimum: -90, maximum: 90 }),
  longitude: Type.Number({ minimum: -180, maximum: 180 }),
});

export const Store = Type.Object({
  id: Type.String(),
  name: Type.String(),
  imageUrl: Type.String(),
  addressLine1: Type.String(),
  addressLine2: Type.String(),
  postCode: Type.String(),
  city: Type.String(),
  state: Type.String(),
  country: Type.String(),
  countryCode: Type.String(),
  phoneNumber: Type.String(),
  geoLocation: GeoLocation,
  status: Type.String(),
  isDefault: Type.Boolean(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type Store = Static<typeof Store>;

/** Required text must hold something other than white space. */
const text = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '\\S' });
const digits = (maxLength: number) => Type.String({ minLength: 1, maxLength, pattern: '^[0-9]+$' });

const storeFields = {
  name: text(limits.storeNameCharsMax),
  addressLine1: text(limits.storeAddressLineCharsMax),
  addressLine2: Type.String({ maxLength: limits.storeAddressLineCharsMax }),
  postCode: text(limits.storePostCodeCharsMax),
  city: text(limits.storePlaceCharsMax),
  state: text(limits.storePlaceCharsMax),
  country: text(limits.storePlaceCharsMax),
  countryCode: digits(limits.countryCodeDigitsMax),
  phoneNumber: digits(limits.phoneNumberDigitsMax),
  geoLocation: GeoLocation,
};

export const CreateStoreRequest = Type.Object(
  {
    name: storeFields.name,
    addressLine1: storeFields.addressLine1,
    addressLine2: Type.Optional(storeFields.addressLine2),
    postCode: storeFields.postCode,
    city: storeFields.city,
    state: storeFields.state,
    country: storeFields.country,
    countryCode: storeFields.countryCode,
    phoneNumber: storeFields.phoneNumber,
    geoLocation: Type.Optional(storeFields.geoLocation),
  },
  { additionalProperties: true },
);
export type CreateStoreRequest = Static<typeof CreateStoreRequest>;

/** PATCH takes any subset of the create fields (strict clients send them all). */
export const UpdateStoreRequest = Type.Partial(CreateStoreRequest, { additionalProperties: true, minProperties: 1 });
export type UpdateStoreRequest = Static<typeof UpdateStoreRequest>;
