// Issue 17 groundwork: the upstream client (openid-client over the outbound port) is being built by
// the helper "upstream-client"; until it lands every call fails as `unavailable`.
import type { OutboundHttp } from '../../ports/outbound.ts';
import { UpstreamError, type UpstreamClient } from '../../ports/upstream-client.ts';

export interface UpstreamClientOptions {
  outbound: OutboundHttp;
  /** The key-encryption keys that open a provider's wrapped secret (current, then previous). */
  keks: { keyEncryptionKey: string; keyEncryptionKeyPrevious?: string };
  /** Epoch seconds (the provider's clock). */
  now: () => number;
  /** One exchange with an upstream, milliseconds (TESSERA_UPSTREAM_TIMEOUT). */
  timeoutMs: number;
  /** The development allowance for loopback upstreams (TESSERA_CLIENT_JWKS_ALLOW_LOOPBACK). */
  allowLoopback: boolean;
}

export function createUpstreamClient(_o: UpstreamClientOptions): UpstreamClient {
  const down = async (): Promise<never> => {
    throw new UpstreamError('unavailable', 'upstream sign-in is not built yet');
  };
  return { authorizationUrl: down, callback: down, verifyLogoutToken: down, forget: () => {} };
}
