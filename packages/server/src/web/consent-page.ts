// The OAuth consent page (GET/POST /authorize): shows what an app asks for and redirects with a code.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AuthorizeQuery, ConsentView, OAuthService } from '../app/auth-ports.js';
import { CatalogError } from '../lib/catalog-error.js';
import { escapeHtml, page, pageHeaders } from './html.js';

const scopeDescriptions: Record<string, string> = {
  manage_payment: 'Take payments, refunds and reversals',
  manage_store: 'View and manage stores',
  get_merchant_profile: 'Read the merchant profile',
  get_user_profile: 'Read the user profile',
  get_merchant_subscription: 'Read product subscriptions',
  manage_loyalty: 'Manage loyalty points',
  manage_loyalty_voucher: 'Manage vouchers',
  manage_loyalty_member: 'Manage loyalty members',
  manage_push_notification: 'Send push notifications',
  manage_social_media: 'Use social media integrations',
};

function consentHtml(view: ConsentView): string {
  const scopes = view.scopes
    .map((s) => `<li><code>${escapeHtml(s)}</code> — ${escapeHtml(scopeDescriptions[s] ?? s)}</li>`)
    .join('');
  return page(
    'Authorize application',
    `<h1>${escapeHtml(view.appName)} wants access to ${escapeHtml(view.merchantName || 'your merchant account')}</h1>
<p>It will be able to:</p><ul id="scopes">${scopes}</ul>
<p>You will be sent back to <code>${escapeHtml(view.redirectUri)}</code>.</p>
<form method="post" action="authorize">
<input type="hidden" name="ticket" value="${escapeHtml(view.ticket)}">
<div class="actions"><button class="deny" name="decision" value="deny">Deny</button>
<button class="approve" name="decision" value="approve" id="approve">Approve</button></div>
</form>`,
  );
}

async function renderError(reply: FastifyReply, error: unknown): Promise<FastifyReply> {
  if (!(error instanceof CatalogError)) throw error;
  return reply
    .code(error.httpStatus)
    .headers(pageHeaders)
    .send(page('Authorization failed', `<h1 class="error">${escapeHtml(error.code)}</h1><p>${escapeHtml(error.message)}</p>`));
}

export function registerConsentPages(server: FastifyInstance, oauth: OAuthService): void {
  server.get('/authorize', async (request, reply) => {
    try {
      // RFC 6749 §3.1: parameters must not repeat (a repeated one arrives as an array).
      for (const [name, value] of Object.entries(request.query as Record<string, unknown>)) {
        if (typeof value !== 'string') throw new CatalogError('INVALID_REQUEST', `${name} must be given exactly once`);
      }
      const view = await oauth.prepareConsent(request.query as AuthorizeQuery);
      return reply.headers(pageHeaders).send(consentHtml(view));
    } catch (error) {
      return renderError(reply, error);
    }
  });
  server.post('/authorize', { config: { acceptsForm: true } }, async (request, reply) => {
    try {
      const form = (request.body ?? {}) as { ticket?: unknown; decision?: unknown };
      if (typeof form.ticket !== 'string') throw new CatalogError('INVALID_REQUEST', 'The consent form is missing its ticket');
      const target = await oauth.decideConsent(form.ticket, form.decision === 'approve');
      return reply.redirect(target, 302);
    } catch (error) {
      return renderError(reply, error);
    }
  });
}
