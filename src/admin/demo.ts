import type { Config } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { randomToken } from '../protocol/hash.ts';
import { saveClient } from './clients.ts';
import { saveUser } from './users.ts';

/** On an empty database in development: a demo user and one client of each kind. Returns what to print, once. */
export async function seedDemo(stores: Stores, config: Config, now: number): Promise<string | undefined> {
  if ((await stores.clients.list()).length || (await stores.users.list()).length) return undefined;
  const password = randomToken(12);
  await saveUser(
    stores,
    {
      username: 'demo',
      password,
      email: 'demo@example.com',
      email_verified: true,
      name: 'Demo User',
      given_name: 'Demo',
      family_name: 'User',
    },
    now,
  );
  const web = await saveClient(
    stores,
    config,
    {
      client_id: 'demo-web',
      client_name: 'Demo web app',
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: ['http://localhost:3000/callback'],
      post_logout_redirect_uris: ['http://localhost:3000/'],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid profile email offline_access',
    },
    now,
  );
  await saveClient(
    stores,
    config,
    {
      client_id: 'demo-spa',
      client_name: 'Demo single-page app',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost:5173/callback'],
      post_logout_redirect_uris: ['http://localhost:5173/'],
      grant_types: ['authorization_code', 'refresh_token'],
      scope: 'openid profile email offline_access',
    },
    now,
  );
  const service = await saveClient(
    stores,
    config,
    {
      client_id: 'demo-service',
      client_name: 'Demo backend service',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      scope: 'api:read api:write',
      redirect_uris: [],
    },
    now,
  );
  return [
    'Demo accounts (shown once; stored only as hashes):',
    `  user            demo / ${password}`,
    `  web app         client_id demo-web      secret ${web.secret}   redirect http://localhost:3000/callback`,
    '  SPA / native    client_id demo-spa      (public, PKCE)          redirect http://localhost:5173/callback',
    `  service         client_id demo-service  secret ${service.secret}   grant client_credentials, scope api:read api:write`,
  ].join('\n');
}
