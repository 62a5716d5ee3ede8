// A DuitNow QR payload in the EMVCo merchant-presented layout (dynamic, MYR), for direct checkout's DUITNOW_QRCODE.

function field(id: string, value: string): string {
  return `${id}${value.length.toString().padStart(2, '0')}${value}`;
}

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as EMVCo's tag 63 requires, over everything up to "6304". */
export function emvCrc16(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}

export interface DuitNowPayloadInput {
  merchantName: string;
  city: string;
  amountMinor: number;
  /** Our transaction id: the bill number the payer's bank reports back. */
  reference: string;
}

/** Point of initiation 12 (dynamic), currency 458 (MYR), country MY; names cut to EMVCo's 25 and 15 characters. */
export function duitNowPayload(input: DuitNowPayloadInput): string {
  const ascii = (text: string, max: number) => text.replace(/[^\x20-\x7e]/g, '').slice(0, max) || 'TUNAI';
  const amount = `${Math.floor(input.amountMinor / 100)}.${(input.amountMinor % 100).toString().padStart(2, '0')}`;
  const body = [
    field('00', '01'),
    field('01', '12'),
    field('26', field('00', 'A0000006150001') + field('01', 'TUNAISANDBOX') + field('02', input.reference.slice(0, 25))),
    field('52', '5999'),
    field('53', '458'),
    field('54', amount),
    field('58', 'MY'),
    field('59', ascii(input.merchantName, 25)),
    field('60', ascii(input.city, 15)),
    field('62', field('01', input.reference.slice(0, 25))),
  ].join('');
  const withCrcTag = `${body}6304`;
  return withCrcTag + emvCrc16(withCrcTag);
}
