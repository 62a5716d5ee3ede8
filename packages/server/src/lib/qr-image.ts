// QR code images: a PNG of a URL or payload, as base64 (the API) or a data URL (the hosted pages).
import QRCode from 'qrcode';

const options = { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: 256 } as const;

export async function qrPngBase64(text: string): Promise<string> {
  return (await QRCode.toBuffer(text, options)).toString('base64');
}

export async function qrPngDataUrl(text: string): Promise<string> {
  return `data:image/png;base64,${await qrPngBase64(text)}`;
}
