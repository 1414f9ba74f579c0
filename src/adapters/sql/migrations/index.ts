import { Migrator, type Kysely, type Migration } from 'kysely';
import * as initial from './0001_initial.ts';
import * as counters from './0002_counters.ts';
import * as audit from './0003_audit.ts';
import * as clientMetadataReplay from './0004_client_metadata_replay.ts';
import * as keySchedule from './0005_key_schedule.ts';
import * as parDpop from './0006_par_dpop.ts';
import * as deviceCodes from './0007_device_codes.ts';
import * as registrationTokens from './0008_registration_tokens.ts';
import * as sessionClients from './0009_session_clients.ts';
import * as authorizationDetails from './0010_authorization_details.ts';
import * as claimsRequest from './0011_claims_request.ts';
import * as grantCertificate from './0012_grant_certificate.ts';
import * as replayEpoch from './0013_replay_epoch.ts';
import { usernameCanonical } from './0014_username_canonical.ts';
import type { UsernameKeys } from '../../../ports/users.ts';
import * as consentResources from './0015_consent_resources.ts';
import * as signingAlgs from './0016_signing_algs.ts';
import * as resourceServers from './0017_resource_servers.ts';
import * as refreshGrace from './0018_refresh_grace.ts';
import * as clientFirstUse from './0019_client_first_use.ts';
import * as clientBlocks from './0020_client_blocks.ts';
import * as factors from './0021_factors.ts';
import * as signIns from './0022_sign_ins.ts';
import * as accountArea from './0023_account_area.ts';
import * as mail from './0024_mail.ts';
import * as upstreams from './0025_upstreams.ts';
import * as admin from './0026_admin.ts';
import * as directory from './0027_directory.ts';
import * as webhooks from './0028_webhooks.ts';
import * as branding from './0029_branding.ts';
import * as userLocale from './0030_user_locale.ts';
import * as codeReplayed from './0031_code_replayed.ts';

/** Every migration, in order. Imported statically (no file-system provider), so bundling is safe. */
const migrations = (usernames: UsernameKeys): Record<string, Migration> => ({
  '0001_initial': initial,
  '0002_counters': counters,
  '0003_audit': audit,
  '0004_client_metadata_replay': clientMetadataReplay,
  '0005_key_schedule': keySchedule,
  '0006_par_dpop': parDpop,
  '0007_device_codes': deviceCodes,
  '0008_registration_tokens': registrationTokens,
  '0009_session_clients': sessionClients,
  '0010_authorization_details': authorizationDetails,
  '0011_claims_request': claimsRequest,
  '0012_grant_certificate': grantCertificate,
  '0013_replay_epoch': replayEpoch,
  '0014_username_canonical': usernameCanonical(usernames),
  '0015_consent_resources': consentResources,
  '0016_signing_algs': signingAlgs,
  '0017_resource_servers': resourceServers,
  '0018_refresh_grace': refreshGrace,
  '0019_client_first_use': clientFirstUse,
  '0020_client_blocks': clientBlocks,
  '0021_factors': factors,
  '0022_sign_ins': signIns,
  '0023_account_area': accountArea,
  '0024_mail': mail,
  '0025_upstreams': upstreams,
  '0026_admin': admin,
  '0027_directory': directory,
  '0028_webhooks': webhooks,
  '0029_branding': branding,
  '0030_user_locale': userLocale,
  '0031_code_replayed': codeReplayed,
});

/** Brings the schema up to date; returns the names of the migrations applied now. */
/**
 * Applies every migration not yet applied. `usernames` are the canonical-form and skeleton functions
 * of accounts/usernames.ts (usernameKeys), which migration 0014 fills existing rows with.
 */
export async function migrate(db: Kysely<any>, usernames: UsernameKeys): Promise<string[]> {
  // Migrations are independent of each other, and features land in any order: a database that
  // already has a later one still takes an earlier one that arrives afterwards.
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(usernames) },
    allowUnorderedMigrations: true,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`database migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
