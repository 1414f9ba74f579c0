import type { ClientRecord } from '../../ports/clients.ts';
import type { Params } from '../params.ts';
import type { Provider, ProtocolRequest } from '../provider.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  /** RFC 8693: the type of the token issued by a token exchange. */
  issued_token_type?: string;
}

export interface GrantHandler {
  grantType: string;
  /** Parameters this grant reads, besides grant_type and client authentication. */
  parameters: ReadonlySet<string>;
  /** Whether public clients may use it. */
  allowPublic: boolean;
  handle(p: Provider, req: ProtocolRequest, params: Params, client: ClientRecord): Promise<TokenResponse>;
}
