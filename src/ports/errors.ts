/**
 * The one error a storage port may throw that callers act on: the database cannot be reached now
 * (connection refused or lost, server starting up or shutting down, a lock or connection not
 * obtained in time). Nothing was learned about the request itself, so the HTTP layer answers
 * 503 `temporarily_unavailable` with Retry-After instead of a 500. Adapters wrap their driver's
 * errors in it (`cause` keeps the original, for logs).
 */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}
