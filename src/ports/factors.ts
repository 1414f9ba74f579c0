/** A second factor of a user: an authenticator app (TOTP, RFC 6238) or a passkey (WebAuthn). */
export type FactorKind = 'totp' | 'passkey';

export interface FactorRecord {
  id: string;
  userId: string;
  kind: FactorKind;
  /** The user's name for it ("Phone", "YubiKey"). */
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  /** TOTP: false until a first code proves the app has the secret; an unconfirmed factor never signs anyone in. */
  confirmed: boolean;
  /** TOTP: the shared secret, wrapped under the key-encryption key (compact JWE); null for a passkey. */
  secret: string | null;
  /** Passkey: the credential ID (base64url), unique across all users; null for TOTP. */
  credentialId: string | null;
  /** Passkey: the COSE public key (base64url). */
  publicKey: string | null;
  /** Passkey: the authenticator's signature counter (0 for most passkeys). */
  counter: number;
  /** Passkey: the transports the authenticator named at registration. */
  transports: string[];
  /** Passkey: backup eligible (a synced passkey: amr swk; else hwk). */
  backupEligible: boolean;
  /** Passkey: backed up at its last use. */
  backedUp: boolean;
  /** Passkey: the authenticator model's AAGUID, when it gave one. */
  aaguid: string | null;
}

export interface FactorStore {
  listByUser(userId: string): Promise<FactorRecord[]>;
  get(id: string): Promise<FactorRecord | undefined>;
  /** The passkey with this credential ID, whoever's it is. */
  findByCredentialId(credentialId: string): Promise<FactorRecord | undefined>;
  /** Stores a new factor; false (nothing stored) when its id or credential ID exists already. */
  create(factor: FactorRecord): Promise<boolean>;
  /** Marks a user's TOTP factor confirmed; false when it is not that user's or was confirmed already. */
  confirm(userId: string, id: string, now: number): Promise<boolean>;
  rename(userId: string, id: string, name: string): Promise<boolean>;
  /** Removes one of the user's factors; false when it is not theirs. */
  delete(userId: string, id: string): Promise<boolean>;
  /** Removes every factor and recovery code of a user; how many factors. */
  deleteByUser(userId: string): Promise<number>;
  /**
   * A successful use: last-used time, and for a passkey its new counter and backup state. A
   * passkey's counter only moves forward (atomically): false, and nothing changed, when a non-zero
   * counter is not greater than the stored one (a cloned authenticator).
   */
  recordUse(id: string, now: number, passkey?: { counter: number; backedUp: boolean }): Promise<boolean>;
  /** Replaces the user's recovery codes by these (hashes), all unused. */
  setRecoveryCodes(userId: string, hashes: readonly string[], now: number): Promise<void>;
  /** Uses one recovery code (by hash), atomically: true for exactly one caller, once. */
  useRecoveryCode(userId: string, hash: string, now: number): Promise<boolean>;
  /** How many unused recovery codes the user has. */
  countRecoveryCodes(userId: string): Promise<number>;
}
