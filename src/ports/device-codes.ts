/** Where a device authorization (RFC 8628) stands. */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'consumed';

/** The user who approved a device authorization, and how they signed in. */
export interface DeviceApproval {
  userId: string;
  sid: string;
  authTime: number;
  amr: string[];
}

export interface DeviceCodeRecord {
  /** SHA-256 of the device code (the polling client's secret). */
  deviceCodeHash: string;
  /** Keyed hash of the normalised user code; unique among live codes. */
  userCodeHash: string;
  clientId: string;
  scope: string;
  resource: string | null;
  status: DeviceCodeStatus;
  /** Seconds the client must wait between polls; raised by 5 on every slow_down. */
  interval: number;
  lastPolledAt: number | null;
  /** Set once the user has approved. */
  approval: DeviceApproval | null;
  createdAt: number;
  expiresAt: number;
}

export interface DevicePoll {
  /** The record after this poll was counted. */
  record: DeviceCodeRecord;
  /** This poll came sooner than the interval after the previous one (the interval was raised by 5). */
  slowDown: boolean;
}

export interface DeviceCodeStore {
  /**
   * Stores a new code; false (nothing stored) when its user code is taken by a live code. An expired holder is
   * replaced.
   */
  create(record: DeviceCodeRecord, now: number): Promise<boolean>;
  /** The live pending code with this user code. */
  findPendingByUserCode(userCodeHash: string, now: number): Promise<DeviceCodeRecord | undefined>;
  get(deviceCodeHash: string): Promise<DeviceCodeRecord | undefined>;
  /** Atomically pending and live -> approved by this user; false when it was not (decided already, or expired). */
  approve(deviceCodeHash: string, approval: DeviceApproval, now: number): Promise<boolean>;
  /** Atomically pending and live -> denied. */
  deny(deviceCodeHash: string, now: number): Promise<boolean>;
  /**
   * Counts one poll by this client of a live code in one atomic statement: a poll less than the
   * interval after the previous one raises the interval by 5 s. Undefined (nothing changed) when
   * there is no live code with this hash for this client.
   */
  poll(deviceCodeHash: string, clientId: string, now: number): Promise<DevicePoll | undefined>;
  /** Atomic single use: approved -> consumed for exactly one caller, who gets the record. */
  consume(deviceCodeHash: string, clientId: string, now: number): Promise<DeviceCodeRecord | undefined>;
}
