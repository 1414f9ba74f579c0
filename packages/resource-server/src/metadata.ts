// RFC 9728: the protected resource metadata document and where it is served.

/** The RFC 9728 section 2 document. */
export interface ProtectedResourceMetadata {
  resource: string;
  authorization_servers: string[];
  scopes_supported?: string[];
  bearer_methods_supported: string[];
  resource_name?: string;
  resource_documentation?: string;
  dpop_signing_alg_values_supported?: string[];
  dpop_bound_access_tokens_required?: boolean;
  tls_client_certificate_bound_access_tokens?: boolean;
}

/**
 * The path of the metadata document for `resource` (RFC 9728 section 3.1): /.well-known/oauth-protected-resource
 * inserted between the host and the path, a lone terminating slash after the host dropped.
 */
export function metadataPath(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `/.well-known/oauth-protected-resource${path}`;
}

/** The absolute URL of the metadata document for `resource` (the `resource_metadata` of a challenge). */
export function metadataUrl(resource: string): string {
  return new URL(metadataPath(resource), resource).href;
}

/**
 * Checks a resource identifier as RFC 9728 section 1.2 and RFC 8707 want it: an absolute https URL (or http on a
 * loopback host, for development) without query or fragment. Returns a problem, or undefined.
 */
export function resourceProblem(resource: string): string | undefined {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    return 'resource must be an absolute URL';
  }
  if (resource.includes('#') || url.search) return 'resource must have no query and no fragment';
  if (url.username || url.password) return 'resource must have no user information';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    return 'resource must be an https URL (http only on a loopback host)';
  return undefined;
}

/** localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}
