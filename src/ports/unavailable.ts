/**
 * Thrown by an adapter whose backend (e.g. Redis) cannot be reached or did not answer in time.
 * Nothing was decided: callers fail closed, and the HTTP layer answers 503
 * `temporarily_unavailable` with Retry-After.
 */
export class BackendUnavailableError extends Error {
  readonly backend: string;
  constructor(backend: string, cause?: unknown) {
    super(`${backend} is unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
    this.name = 'BackendUnavailableError';
    this.backend = backend;
  }
}
