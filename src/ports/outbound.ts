// Outbound HTTP: the requests Tessera itself makes to a client's server (its jwks_uri, its
// sector_identifier_uri, its backchannel_logout_uri), whose URLs the client chose. Every
// implementation must be safe to point at any URL: it refuses URLs and addresses that
// protocol/client-auth/public-address.ts refuses (checking the address it connects to, after name
// resolution), follows no redirect, and holds each exchange to a time and a size limit.

/** Why an outbound request failed; the message is for logs only (it may name resolved addresses). */
export class OutboundError extends Error {
  /**
   * refused: the URL or an address it resolves to may not be reached (nothing was sent);
   * failed: no answer, a network error, a timeout or an unexpected status;
   * invalid: an answer that is too large or not JSON.
   */
  readonly reason: 'refused' | 'failed' | 'invalid';
  /** The answer's HTTP status, when the failure is an unexpected status (not 200). */
  readonly status?: number;
  constructor(reason: OutboundError['reason'], message: string, status?: number) {
    super(message);
    this.name = 'OutboundError';
    this.reason = reason;
    if (status !== undefined) this.status = status;
  }
}

export interface OutboundRequest {
  /** The client metadata field the URL comes from, which labels the error messages (jwks_uri, ...). */
  name: string;
  /** The development allowance: http and loopback addresses (never other private ones) may be reached. */
  allowLoopback: boolean;
  /** The whole exchange, in milliseconds. */
  timeoutMs: number;
}

/** A JSON document and what its answer said about caching it. */
export interface OutboundDocument {
  body: unknown;
  /** The answer's Cache-Control field, if any. */
  cacheControl?: string;
}

export interface OutboundHttp {
  /** GETs a JSON document (status 200, at most `maxBytes`); rejects with an OutboundError. */
  getJson(uri: string, request: OutboundRequest & { accept: string; maxBytes: number }): Promise<unknown>;
  /**
   * As getJson, and the answer must also say it is JSON (a Content-Type of application/json or
   * application/...+json; anything else is `invalid`); resolves with the body and its Cache-Control.
   */
  getJsonDocument(
    uri: string,
    request: OutboundRequest & { accept: string; maxBytes: number },
  ): Promise<OutboundDocument>;
  /**
   * POSTs an application/x-www-form-urlencoded body and resolves with the answer's status (a
   * redirect's too, never followed); the answer's body is read only up to a small limit and
   * discarded. Rejects with an OutboundError.
   */
  postForm(uri: string, form: URLSearchParams, request: OutboundRequest): Promise<number>;
  /**
   * POSTs `body` with the given fields (a webhook delivery: its content type and signature) and
   * resolves with the answer's status (a redirect's too, never followed) and its first `keepBytes`
   * bytes as text; the answer is read only up to a small limit, the rest discarded. Rejects with an
   * OutboundError: `refused` (nothing was sent) or `failed` (no answer, a network error, a timeout).
   */
  post(
    uri: string,
    init: { headers: Record<string, string>; body: string },
    request: OutboundRequest & { keepBytes: number },
  ): Promise<{ status: number; body: string }>;
  /**
   * One exchange with an upstream identity provider an operator configured (issue 17), shaped as
   * WHATWG fetch so openid-client can use it (its customFetch): GET or POST, no redirect followed
   * (a 3xx is returned as it is), the answer's body read whole up to `maxBytes` (beyond: `invalid`)
   * into the returned Response. `privateNetwork` lets the URL resolve to private and loopback
   * addresses and use http (an operator's on-premise provider); otherwise the same address rules as
   * every other request, with `allowLoopback`. Rejects with an OutboundError (`refused`, or `failed`
   * for no answer or a timeout; an answer of any status resolves).
   */
  fetch(
    uri: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    request: OutboundRequest & { maxBytes: number; privateNetwork: boolean },
  ): Promise<Response>;
}
