// @tessera/resource-server: accept Tessera's access tokens in an API or an MCP server.
export { createResourceServer, ResourceServer } from './resource-server.ts';
export type { AuthenticateOptions, ResourceServerOptions } from './resource-server.ts';
export {
  CertificateMismatchError,
  InsufficientScopeError,
  InsufficientUserAuthenticationError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  isResourceServerError,
  MissingTokenError,
  ResourceServerError,
  ServiceUnavailableError,
  UseDpopNonceError,
} from './errors.ts';
export { refusal, wwwAuthenticate } from './challenge.ts';
export { acrSatisfies, TESSERA_ACR_VALUES } from './step-up.ts';
export type { StepUpRequirement } from './step-up.ts';
export type { ChallengeOptions, Refusal, Scheme } from './challenge.ts';
export { metadataPath, metadataUrl } from './metadata.ts';
export type { ProtectedResourceMetadata } from './metadata.ts';
export { MemoryReplayStore } from './replay-store.ts';
export type { ReplayStore } from './replay-store.ts';
export { RedisReplayStore } from './redis-replay-store.ts';
export type { RedisLike } from './redis-replay-store.ts';
export type { IntrospectionOptions } from './introspection.ts';
export type { CertificateOptions } from './certificate.ts';
export type { RequestLike, HeaderSource } from './request.ts';
export type { VerifiedToken, Confirmation } from './token-info.ts';
export type { FetchLike } from './authorization-server.ts';
