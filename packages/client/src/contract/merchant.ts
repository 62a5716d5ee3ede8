// Merchant profile and subscription shapes (spec "Merchant").
import { Type, type Static } from '@sinclair/typebox';

export const InvoiceAddress = Type.Object({
  addressLine1: Type.String(),
  addressLine2: Type.String(),
  postcode: Type.String(),
  city: Type.String(),
  state: Type.String(),
  country: Type.String(),
});

export const Merchant = Type.Object({
  id: Type.String(),
  companyName: Type.String(),
  companyType: Type.String(),
  companyLogoUrl: Type.String(),
  registrationNumber: Type.String(),
  businessCategory: Type.String(),
  establishedAt: Type.String(),
  countryCode: Type.String(),
  phoneNumber: Type.String(),
  addressLine1: Type.String(),
  addressLine2: Type.String(),
  postcode: Type.String(),
  city: Type.String(),
  state: Type.String(),
  country: Type.String(),
  invoiceAddress: InvoiceAddress,
  isActive: Type.Boolean(),
  status: Type.String(),
  isMasterMerchant: Type.Boolean(),
  masterMerchantId: Type.String(),
  isPartner: Type.Boolean(),
  partnerId: Type.String(),
  gstNo: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type Merchant = Static<typeof Merchant>;

/** The spec's example gives subscription ids as JSON numbers. */
export const MerchantSubscription = Type.Object({
  id: Type.Integer(),
  gracePeriod: Type.Integer(),
  expiryAt: Type.String(),
  terminateAt: Type.String(),
  status: Type.String(),
});
export type MerchantSubscription = Static<typeof MerchantSubscription>;
