// Adopted tokens renewed while another token is adopted: the spent refresh token's successor still reaches its owner.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TunaiClient, type TokenResponse } from '../src/index.js';

const tokenBody = (name: string, expiresIn = 7200, refreshTokenExpiresIn = 2_592_000): TokenResponse => ({
  accessToken: `access-${name}`,
  tokenType: 'Bearer',
  expiresIn,
  refreshToken: `refresh-${name}`,
  refreshTokenExpiresIn,
});

const json = (status: number, value: unknown) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

describe('review: adopted token renewal racing another adoption', () => {
  it('a refresh of adopted token A that answers after token B was adopted still hands A’s rotated token to A’s onRenewed', async () => {
    let nowMs = 1_700_000_000_000;
    const tokenBodies: string[] = [];
    let releaseToken: (token: TokenResponse) => void = () => undefined;
    const tokenAnswer = new Promise<TokenResponse>((resolve) => (releaseToken = resolve));
    const bearers: (string | null)[] = [];
    const fake: typeof fetch = async (input, init) => {
      const url = String(input);
      if (url.endsWith('/v1/token')) {
        tokenBodies.push(String(init?.body));
        return json(200, await tokenAnswer);
      }
      bearers.push(new Headers(init?.headers).get('authorization'));
      return json(200, { item: {}, code: 'SUCCESS' });
    };
    const client = new TunaiClient({
      clientId: 'c',
      clientSecret: 's',
      oauthBaseUrl: 'http://tunai.test',
      openApiBaseUrl: 'http://tunai.test',
      signing: 'never',
      nowMs: () => nowMs,
      fetch: fake,
    });
    const renewedA: TokenResponse[] = [];
    const renewedB: TokenResponse[] = [];
    client.adoptToken(tokenBody('A'), { onRenewed: (token) => void renewedA.push(token) });
    nowMs += 7200_000;
    // A's access token has expired: this call refreshes it with refresh-A, which the server then rotates (spends).
    const call = client.merchant.get();
    while (tokenBodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    client.adoptToken(tokenBody('B'), { onRenewed: (token) => void renewedB.push(token) });
    releaseToken(tokenBody('A2'));
    await call;
    assert.deepEqual(JSON.parse(tokenBodies[0] ?? '{}'), { grantType: 'refresh_token', refreshToken: 'refresh-A' }, 'A was refreshed');
    // The client now acts for B, as adoptToken promises.
    await client.merchant.get();
    assert.equal(bearers.at(-1), 'Bearer access-B', 'later calls use the token adopted last');
    assert.equal(renewedB.length, 0, 'B was not renewed');
    // refresh-A is spent at the server; unless A's owner is told of refresh-A2, A's merchant must consent again.
    assert.deepEqual(
      renewedA.map((t) => t.refreshToken),
      ['refresh-A2'],
      'onRenewed of the adoption whose refresh token was used receives the rotated token',
    );
  });
});
