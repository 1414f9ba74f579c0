// The built-in client of the `tessera` CLI's remote mode (issue 20): `tessera login --remote` signs a
// person in through the device flow against any Tessera with this client, and calls the admin API with
// the token it gets. A public client (nothing secret ships with the CLI), the device flow only, an
// admin client holding every admin scope: what a person's token holds is the scopes asked that the
// person's admin role holds, after a second factor (protocol/admin-tokens.ts).
import type { Config } from '../config/config.ts';
import type { Stores } from '../ports/index.ts';
import { ADMIN_SCOPES, isAdminClient } from '../protocol/admin-scopes.ts';
import { saveClient, type ClientInput } from './clients.ts';

/** The client_id of the CLI's remote mode. */
export const CLI_CLIENT_ID = 'tessera-cli';

/** The CLI's client as it is made when absent. */
export function cliClientInput(): ClientInput {
  return {
    client_id: CLI_CLIENT_ID,
    client_name: 'Tessera CLI',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
    scope: ADMIN_SCOPES.join(' '),
    redirect_uris: [],
    post_logout_redirect_uris: [],
    admin_client: true,
  };
}

/**
 * Makes the CLI's client when there is none (at start-up, under `stores.exclusive` as the bootstrap
 * file is applied, so instances starting together make it once). A client of that id that exists is
 * left as it is: an operator who disabled it (no remote logins) or changed it keeps that. Returns what
 * happened: `created`, `present`, or `not_admin` (a client of that id that is not an admin client,
 * which the remote mode cannot use: said at start-up).
 */
export async function ensureCliClient(
  stores: Stores,
  config: Config,
  now: number,
): Promise<'created' | 'present' | 'not_admin'> {
  const existing = await stores.clients.get(CLI_CLIENT_ID);
  if (existing) return isAdminClient(existing) ? 'present' : 'not_admin';
  const { client } = await saveClient(stores, config, cliClientInput(), now);
  await stores.audit.append([
    {
      at: Date.now(),
      type: 'cli_client_provisioned',
      actor: 'system',
      clientId: client.clientId,
      ip: null,
      outcome: 'success',
      details: {
        auth_method: client.tokenEndpointAuthMethod,
        grant_types: client.grantTypes.join(' '),
        admin_client: true,
      },
    },
  ]);
  return 'created';
}
