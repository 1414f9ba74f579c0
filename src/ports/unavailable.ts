/**
 * The one kind of error a port may throw that callers act on: its backend (the database, Redis)
 * cannot be reached or did not answer in time. Nothing was decided: callers fail closed, and the
 * HTTP layer answers 503 `temporarily_unavailable` with Retry-After instead of a server_error.
 */
export class BackendUnavailableError extends Error {
  readonly backend: string;
  constructor(backend: string, cause?: unknown) {
    super(`${backend} is unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'BackendUnavailableError';
    this.backend = backend;
  }
}

/**
 * The database cannot be reached now (connection refused or lost, server starting up or shutting
 * down, a lock or connection not obtained in time). Nothing was learned about the request itself.
 * SQL adapters wrap their driver's errors in it (`cause` keeps the original, for logs).
 */
export class StorageUnavailableError extends BackendUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('database', options?.cause);
    this.message = message;
    this.name = 'StorageUnavailableError';
  }
}
