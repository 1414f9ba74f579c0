// The directory of users (issue 20): groups and their members, application roles (the roles a user
// holds for one application: a client or a resource server; distinct from Tessera's own admin roles
// of ports/admin.ts), typed user attributes, and the claim mappings that put them in the tokens and
// userinfo answers of one client or resource server (protocol/directory-claims.ts).
import type { Page, PageQuery } from './admin.ts';

export interface GroupRecord {
  id: string;
  /** Unique (compared without regard to case). */
  name: string;
  description: string | null;
  createdAt: number;
  updatedAt: number;
}

/** What an application is: a client (by client_id) or a resource server (by its identifier). */
export type ApplicationType = 'client' | 'resource';

export interface ApplicationRef {
  type: ApplicationType;
  /** A client_id, or a resource server's (canonical) identifier. */
  id: string;
}

/** A role a user holds for one application. */
export interface AppRoleAssignment {
  userId: string;
  application: ApplicationRef;
  role: string;
  /** Epoch seconds. */
  grantedAt: number;
}

/** The types of user attributes and of mapped claims; `strings` is an array of strings. */
export type ValueType = 'string' | 'number' | 'boolean' | 'strings';
export type AttributeValue = string | number | boolean | string[];

export interface UserAttribute {
  userId: string;
  name: string;
  type: ValueType;
  value: AttributeValue;
  updatedAt: number;
}

/** Where a mapped claim goes. */
export type ClaimTarget = 'id_token' | 'access_token' | 'userinfo';

export interface ClaimMappingRecord {
  id: string;
  /** The client or resource server whose tokens carry the claim. */
  application: ApplicationRef;
  /** The claim's name (unique per application). */
  claim: string;
  /** The user's groups, the user's roles for this application, or one of the user's attributes. */
  source: 'groups' | 'roles' | 'attribute';
  /** The attribute's name when `source` is `attribute`; else null. */
  attribute: string | null;
  /** The claim's JSON type. */
  type: ValueType;
  /** The scope whose grant releases the claim. */
  scope: string;
  targets: ClaimTarget[];
  createdAt: number;
  updatedAt: number;
}

/** What one issuance reads of a user: only the parts its mappings need. */
export interface DirectoryFacts {
  /** Group names, sorted. */
  groups: string[];
  /** Role names per application (`<type> <id>`), each sorted. */
  roles: Map<string, string[]>;
  attributes: Map<string, { type: ValueType; value: AttributeValue }>;
}

/** The key of an application in DirectoryFacts.roles. */
export const applicationKey = (a: ApplicationRef): string => `${a.type} ${a.id}`;

export interface DirectoryStore {
  getGroup(id: string): Promise<GroupRecord | undefined>;
  findGroupByName(name: string): Promise<GroupRecord | undefined>;
  /** Groups in name order (`after`: the last name of the page before); `search` matches name or description. */
  pageGroups(q: PageQuery): Promise<Page<GroupRecord>>;
  /** Creates the group unless its id or name (without regard to case) is taken; whether it was created. */
  createGroup(group: GroupRecord): Promise<boolean>;
  /** Replaces name and description: `missing`, `name_taken` (another group's name), or `updated`. */
  updateGroup(group: GroupRecord): Promise<'updated' | 'missing' | 'name_taken'>;
  /** Deletes the group and its memberships; false when there was none. */
  deleteGroup(id: string): Promise<boolean>;
  /** False when the user was a member already. */
  addMember(groupId: string, userId: string, at: number): Promise<boolean>;
  /** False when the user was not a member. */
  removeMember(groupId: string, userId: string): Promise<boolean>;
  /** Member user ids in order (`after`: the last id of the page before). */
  members(groupId: string, q: Omit<PageQuery, 'search'>): Promise<Page<string>>;
  /** The user's groups, by name. */
  groupsOfUser(userId: string): Promise<GroupRecord[]>;

  /** False when the user held the role already. */
  assignRole(assignment: AppRoleAssignment): Promise<boolean>;
  /** False when the user did not hold it. */
  removeRole(userId: string, application: ApplicationRef, role: string): Promise<boolean>;
  /** The user's roles: for one application, or for all (by application, then role). */
  rolesOfUser(userId: string, application?: ApplicationRef): Promise<AppRoleAssignment[]>;
  /**
   * The assignments of one application in (role, user id) order; `after` is the key of the last item
   * of the page before (roleKey); `search` matches the role name.
   */
  pageRoles(application: ApplicationRef, q: PageQuery): Promise<Page<AppRoleAssignment>>;

  /** Sets (or replaces) one attribute of a user. */
  setAttribute(attribute: UserAttribute): Promise<void>;
  /** False when the user had no such attribute. */
  removeAttribute(userId: string, name: string): Promise<boolean>;
  /** The user's attributes, by name. */
  attributesOf(userId: string): Promise<UserAttribute[]>;

  /** Every claim mapping (the table is small: the protocol keeps a copy per process). */
  listMappings(): Promise<ClaimMappingRecord[]>;
  getMapping(id: string): Promise<ClaimMappingRecord | undefined>;
  /** Creates a mapping unless its application maps that claim already; whether it was created. */
  createMapping(mapping: ClaimMappingRecord): Promise<boolean>;
  /** Replaces a mapping (same id): `missing`, `claim_taken` (another mapping of the application), or `updated`. */
  updateMapping(mapping: ClaimMappingRecord): Promise<'updated' | 'missing' | 'claim_taken'>;
  deleteMapping(id: string): Promise<boolean>;

  /**
   * What issuance needs of a user, in one read: the group names (when `groups`), the roles for these
   * applications, and these attributes.
   */
  facts(
    userId: string,
    need: { groups: boolean; roles: readonly ApplicationRef[]; attributes: readonly string[] },
  ): Promise<DirectoryFacts>;
}

/** The paging key of a role assignment (pageRoles). */
export const roleKey = (a: Pick<AppRoleAssignment, 'role' | 'userId'>): string => `${a.role}\n${a.userId}`;
