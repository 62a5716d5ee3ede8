// The sandbox's FPX bank list (GET /v3/payment/fpx-bank): real FPX B2C bank codes, with one bank offline to test refusals.

export interface FpxBankEntry {
  code: string;
  name: string;
  isOnline: boolean;
}

export const fpxBanks: readonly FpxBankEntry[] = [
  { code: 'ABB0233', name: 'Affin Bank', isOnline: true },
  { code: 'ABMB0212', name: 'Alliance Bank (Personal)', isOnline: true },
  { code: 'AGRO01', name: 'AGRONet', isOnline: true },
  { code: 'AMBB0209', name: 'AmBank', isOnline: true },
  { code: 'BIMB0340', name: 'Bank Islam', isOnline: true },
  { code: 'BKRM0602', name: 'i-Rakyat', isOnline: true },
  { code: 'BMMB0341', name: 'i-Muamalat', isOnline: true },
  { code: 'BSN0601', name: 'myBSN', isOnline: true },
  { code: 'BCBB0235', name: 'CIMB Clicks', isOnline: true },
  { code: 'HLB0224', name: 'Hong Leong Bank', isOnline: true },
  { code: 'HSBC0223', name: 'HSBC Bank', isOnline: true },
  { code: 'KFH0346', name: 'KFH', isOnline: true },
  { code: 'MB2U0227', name: 'Maybank2U', isOnline: true },
  { code: 'MBB0228', name: 'Maybank2E', isOnline: true },
  { code: 'OCBC0229', name: 'OCBC Bank', isOnline: true },
  { code: 'PBB0233', name: 'Public Bank', isOnline: true },
  { code: 'RHB0218', name: 'RHB Bank', isOnline: true },
  { code: 'SCB0216', name: 'Standard Chartered', isOnline: true },
  { code: 'UOB0226', name: 'UOB Bank', isOnline: true },
  // Offline in the sandbox, so a client can see how a bank under maintenance is refused.
  { code: 'UOB0229', name: 'UOB Bank (offline in the sandbox)', isOnline: false },
];

export function fpxBank(code: string): FpxBankEntry | undefined {
  return fpxBanks.find((bank) => bank.code === code);
}
