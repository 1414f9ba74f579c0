import { authorizationCode, type AuthorizationCodeDeps } from './authorization-code.ts';
import { clientCredentials, type ClientCredentialsDeps } from './client-credentials.ts';
import { deviceCode, type DeviceCodeDeps } from './device-code.ts';
import type { GrantHandler } from './grant.ts';
import { refreshToken, type RefreshTokenDeps } from './refresh-token.ts';
import { tokenExchange, type TokenExchangeDeps } from './token-exchange.ts';

/** What the grants use between them: the part of the token endpoint's deps it hands on to them. */
export type GrantDeps = AuthorizationCodeDeps &
  RefreshTokenDeps &
  ClientCredentialsDeps &
  DeviceCodeDeps &
  TokenExchangeDeps;

const all: GrantHandler<GrantDeps>[] = [authorizationCode, refreshToken, clientCredentials, deviceCode, tokenExchange];
export const grants: ReadonlyMap<string, GrantHandler<GrantDeps>> = new Map(all.map((g) => [g.grantType, g]));
