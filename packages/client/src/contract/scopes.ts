// OAuth scopes RM defines (go constant.go), the unit of permission on every route.
export const allScopes = [
  'manage_payment',
  'manage_store',
  'get_merchant_profile',
  'get_user_profile',
  'get_merchant_subscription',
  'manage_loyalty',
  'manage_loyalty_voucher',
  'manage_loyalty_member',
  'manage_push_notification',
  'manage_social_media',
] as const;
export type Scope = (typeof allScopes)[number];

export function isScope(value: string): value is Scope {
  return (allScopes as readonly string[]).includes(value);
}
