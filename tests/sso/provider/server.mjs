// A real OpenID Connect provider for wlpanel's SSO tests: panva's oidc-provider (certified), with
// its development login page (any login name; the password is not checked), consent granted for
// first-party clients, and accounts (their groups) read from a JSON file at every request so a test
// can move a person between groups. Configuration comes from the environment:
//   PORT           where to listen (127.0.0.1)
//   CLIENTS_JSON   the registered clients (oidc-provider client metadata)
//   ACCOUNTS_FILE  {"alice": {"email": ..., "groups": [...]}, ...}
// Prints "oidc provider listening on <issuer>" once it answers.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.CLIENTS_JSON);
const accounts = () => JSON.parse(readFileSync(process.env.ACCOUNTS_FILE, 'utf8'));

const configuration = {
  clients,
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'given_name', 'family_name'],
    groups: ['groups', 'active'],  // 'active': the deactivation claim of one test
  },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: id,
          email: account.email,
          email_verified: true,
          groups: account.groups ?? [],
          ...(account.extra ?? {}),
        };
      },
    };
  },
  // First-party clients: consent is implied (the recipe from oidc-provider's documentation).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
  ttl: {
    // A client named "*-short" gets ID tokens that expire after one second (the expiry test).
    IdToken: (ctx, token, client) => (client.clientId.endsWith('-short') ? 1 : 3600),
  },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['wlpanel-test-provider-only'] },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc provider listening on ${issuer}`);
});
