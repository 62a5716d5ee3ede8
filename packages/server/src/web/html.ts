// Minimal HTML building with escaping, shared by every server-rendered page.
import { createHash } from 'node:crypto';

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c] ?? c);
}

/** The one stylesheet of every page: fixed text, so the Content-Security-Policy can allow it by its hash. */
const pageStyle = `
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2330}
main{max-width:28rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.25rem;margin-top:0}ul{padding-left:1.2rem}code{background:#eef;padding:0 .2rem;border-radius:3px}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}button{flex:1;padding:.75rem;border-radius:8px;border:0;font-size:1rem;cursor:pointer}
.approve{background:#1a7f37;color:#fff}.deny{background:#e5e7eb}.error{color:#b42318}
.amount{font-size:2rem;font-weight:700;margin:.25rem 0 1rem}.muted{color:#667085;font-size:.9rem}
.methods{display:grid;gap:.6rem;margin:1rem 0}.methods button,.methods a{display:block;width:100%;text-align:left;padding:.85rem 1rem;border:1px solid #d0d5dd;border-radius:10px;background:#fff;font-size:1rem;color:inherit;text-decoration:none}
.methods button:active{background:#eef}form.inline{margin:0}select,input[type=text],input[type=number]{width:100%;padding:.7rem;border:1px solid #d0d5dd;border-radius:8px;font-size:1rem;box-sizing:border-box}
img.qr{display:block;margin:1rem auto;width:14rem;height:14rem;image-rendering:pixelated}
`;

/**
 * The one script any page runs: it polls a status URL and, once the payment is no longer IN_PROCESS, moves to the
 * done URL. Both URLs come from the script element's data attributes, so the text never changes and the
 * Content-Security-Policy allows exactly it, by its hash.
 */
const pollScriptText = `
(function(){var e=document.currentScript,s=e.dataset.status,d=e.dataset.done;
function tick(){fetch(s,{cache:'no-store'}).then(function(r){return r.json()}).then(function(b){if(b.status!=='IN_PROCESS'){location.replace(d)}else{setTimeout(tick,1000)}}).catch(function(){setTimeout(tick,2000)})}
setTimeout(tick,1000)})();
`;

const sha256Source = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** The poll script for a page: polls `statusUrl` every second, then goes to `doneUrl` (both same-origin paths). */
export function pollScript(statusUrl: string, doneUrl: string): string {
  return `<script data-status="${escapeHtml(statusUrl)}" data-done="${escapeHtml(doneUrl)}">${pollScriptText}</script>`;
}

/**
 * The policy of every page. Nothing loads or runs but the page's own stylesheet and poll script (by hash), QR codes
 * drawn as data: images, and the poll's same-origin fetch; no <base> may move relative URLs; no other site may frame
 * it. Had merchant text ever escaped its escaping, it still could not run script. `form-action` is left out: Chrome
 * applies it to the redirects that follow a form post, which would block the consent redirect and the way back to
 * the merchant.
 */
export const pageContentSecurityPolicy = [
  "default-src 'none'",
  `script-src ${sha256Source(pollScriptText)}`,
  `style-src ${sha256Source(pageStyle)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers of every server-rendered page: never cached, never framed by another site (the Pay, Cancel and Approve
 * buttons cannot be clickjacked), never sniffed as another type, no script but our own, and no page URL (checkout
 * ids) leaks to other sites.
 */
export const pageHeaders = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'content-security-policy': pageContentSecurityPolicy,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
} as const;

/** A small, phone-friendly page shell; no external assets so it works offline. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${pageStyle}</style></head><body><main>${body}</main></body></html>`;
}
