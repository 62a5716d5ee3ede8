// Which wallet issued a customer's payment code: auth-code prefix rules (documented as the sandbox's test cards).
import type { QuickPayMethod, Region } from '@tunai/client/contract';

export interface DetectedWallet {
  method: QuickPayMethod;
  region: Region;
}

interface PrefixRule {
  prefixes: readonly string[];
  lengths: { min: number; max: number };
  wallet: DetectedWallet;
}

/**
 * WeChat Pay codes are 18 digits starting 10–15 and Alipay codes 16–24 digits starting 25–30 (their public rules).
 * WeChat's region is our own split: 10–12 are mainland (CHINA) wallets, 13–15 Malaysian ones, matching the
 * spec's examples (13…/15… paid in MALAYSIA). The Malaysian wallets publish no rule, so tunai uses 18-digit
 * codes of its own: 80 TNG, 81 BOOST, 82 GRABPAY, 83 MAYBANK, 84 SHOPEEPAY, 85 PRESTO.
 */
const rules: readonly PrefixRule[] = [
  { prefixes: ['10', '11', '12'], lengths: { min: 18, max: 18 }, wallet: { method: 'WECHATPAY', region: 'CHINA' } },
  { prefixes: ['13', '14', '15'], lengths: { min: 18, max: 18 }, wallet: { method: 'WECHATPAY', region: 'MALAYSIA' } },
  { prefixes: ['25', '26', '27', '28', '29', '30'], lengths: { min: 16, max: 24 }, wallet: { method: 'ALIPAY', region: 'CHINA' } },
  { prefixes: ['80'], lengths: { min: 18, max: 18 }, wallet: { method: 'TNG', region: 'MALAYSIA' } },
  { prefixes: ['81'], lengths: { min: 18, max: 18 }, wallet: { method: 'BOOST', region: 'MALAYSIA' } },
  { prefixes: ['82'], lengths: { min: 18, max: 18 }, wallet: { method: 'GRABPAY', region: 'MALAYSIA' } },
  { prefixes: ['83'], lengths: { min: 18, max: 18 }, wallet: { method: 'MAYBANK', region: 'MALAYSIA' } },
  { prefixes: ['84'], lengths: { min: 18, max: 18 }, wallet: { method: 'SHOPEEPAY', region: 'MALAYSIA' } },
  { prefixes: ['85'], lengths: { min: 18, max: 18 }, wallet: { method: 'PRESTO', region: 'MALAYSIA' } },
];

/** The wallet behind an auth code, or null when no wallet issues codes of that shape (AUTH_CODE_INVALID). */
export function detectWallet(authCode: string): DetectedWallet | null {
  if (!/^[0-9]+$/.test(authCode)) return null;
  for (const rule of rules) {
    if (authCode.length < rule.lengths.min || authCode.length > rule.lengths.max) continue;
    if (rule.prefixes.some((prefix) => authCode.startsWith(prefix))) return rule.wallet;
  }
  return null;
}
