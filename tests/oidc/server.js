// A real OpenID provider for the portal's single sign-on tests (issue 22): the certified
// `oidc-provider` package, with one client (the portal) and a few fixed people.
//
// Environment: OIDC_TEST_PORT (where to listen, on 127.0.0.1), OIDC_TEST_CLIENT_ID and
// OIDC_TEST_CLIENT_SECRET (the portal's client), OIDC_TEST_ACCOUNTS (JSON: sub -> claims).
// There is no login form: the interaction signs in the person named by the request's
// `login_hint` (or the first account) at once, and grants the scopes asked for, so that tests
// and a browser go through the whole authorization code flow (with PKCE) without typing.
// It prints "listening on <issuer>" when ready.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_TEST_PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.OIDC_TEST_CLIENT_ID || 'portal';
const clientSecret = process.env.OIDC_TEST_CLIENT_SECRET || 'portal-test-secret';
const accounts = JSON.parse(
  process.env.OIDC_TEST_ACCOUNTS ||
    '{"ada-0001": {"email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace", "preferred_username": "ada"}}',
);

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      // Any portal under test: its address (a live server's port) is known only at run time;
      // redirectUriAllowed below checks the path.
      redirect_uris: ['http://127.0.0.1/accounts/oidc/callback-placeholder/'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  async findAccount(ctx, sub) {
    if (!Object.hasOwn(accounts, sub)) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...accounts[sub] };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
  },
  // Every client must send a PKCE challenge: the tests prove that the portal does.
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['tests-only-cookie-key'] },
  ttl: { Interaction: 600, Session: 600, Grant: 600, AccessToken: 600, IdToken: 600 },
};

const provider = new Provider(issuer, configuration);
provider.Client.prototype.redirectUriAllowed = function (redirectUri) {
  const url = new URL(redirectUri);
  return (
    url.protocol === 'http:' &&
    ['127.0.0.1', 'localhost', 'testserver'].includes(url.hostname) &&
    /^\/accounts\/oidc\/[^/]+\/login\/callback\/$/.test(url.pathname)
  );
};

// The interaction: sign in the hinted person (or the first), then grant what was asked.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([^/]+)$/.exec(ctx.path);
  if (!match || ctx.method !== 'GET') return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    const hinted = params.login_hint;
    const sub = hinted && Object.hasOwn(accounts, hinted) ? hinted : Object.keys(accounts)[0];
    result = { login: { accountId: sub } };
  } else {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    grant.addOIDCScope(params.scope);
    result = { consent: { grantId: await grant.save() } };
  }
  await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
