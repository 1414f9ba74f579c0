// The directory of users (issue 20): groups and their members, application roles, user attributes
// and claim mappings. The rules are admin/directory.ts (shared with the bootstrap file); what a
// mapping puts in tokens is protocol/directory-claims.ts.
import { z } from 'zod';
import type { ApplicationRef, ClaimMappingRecord } from '../../ports/directory.ts';
import { defineAction, etagOf, pageInput, requireMatch, type ActionContext } from '../action.ts';
import {
  CLAIM_SOURCES,
  CLAIM_TARGETS,
  VALUE_TYPES,
  buildMapping,
  checkRole,
  createGroup,
  createMapping,
  describeApplication,
  describeAttribute,
  describeGroup,
  describeMapping,
  describeRole,
  requireGroup,
  requireUser,
  resolveApplication,
  setAttribute,
  updateGroup,
} from '../directory.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { listAction, pageOfAll, pageQuery, pageResult } from '../list.ts';

const id = z.string().min(1).max(200);
const application = {
  client_id: z.string().min(1).max(2000).optional(),
  resource: z.string().min(1).max(2000).optional(),
};
const valueType = z.enum(VALUE_TYPES);

/** The audit record's client of an action about one application: the application, when a client. */
const clientOf = (app: ApplicationRef) => (app.type === 'client' ? { clientId: app.id } : {});

/** What the audit record of a change to a claim mapping says of it. */
const mappingRecord = (m: ClaimMappingRecord) => ({
  details: { mapping_id: m.id, claim: m.claim, application: m.application.id },
  ...clientOf(m.application),
});

/** Tokens are issued from this process's copy of the mappings: a change drops it once committed. */
const mappingsChanged = (ctx: ActionContext) => ctx.after(() => ctx.p.claimMappings.forget());

const groupActions = [
  listAction({
    name: 'groups.list',
    summary: 'The groups, by name; search matches the name and description.',
    permission: 'admin:directory:read',
    event: 'admin_groups_listed',
    path: '/groups',
    page: (ctx, q) => ctx.stores.directory.pageGroups(q),
    describe: describeGroup,
    details: () => undefined,
  }),
  defineAction({
    name: 'groups.create',
    summary: 'Creates a group (names are unique without regard to case).',
    permission: 'admin:directory:write',
    event: 'directory_group_created',
    input: z.object({ name: z.string().max(200), description: z.string().max(1000).nullable().optional() }).strict(),
    http: { method: 'POST', path: '/groups', status: 201 },
    async run(ctx, input) {
      const g = await createGroup(ctx.stores, input, ctx.now);
      const after = describeGroup(g);
      return { result: after, after, details: { group_id: g.id, name: g.name }, etag: etagOf(after) };
    },
  }),
  defineAction({
    name: 'groups.read',
    summary: 'One group, with its description.',
    permission: 'admin:directory:read',
    event: 'admin_group_read',
    input: z.object({ group_id: id }).strict(),
    http: { method: 'GET', path: '/groups/{group_id}' },
    async run(ctx, input) {
      const g = describeGroup(await requireGroup(ctx.stores, input.group_id));
      return { result: g, details: { group_id: g.id }, etag: etagOf(g) };
    },
  }),
  defineAction({
    name: 'groups.update',
    summary: "Renames a group or changes its description (If-Match: the group's ETag).",
    permission: 'admin:directory:write',
    event: 'directory_group_updated',
    input: z
      .object({
        group_id: id,
        name: z.string().max(200).optional(),
        description: z.string().max(1000).nullable().optional(),
      })
      .strict(),
    http: { method: 'PATCH', path: '/groups/{group_id}' },
    async run(ctx, input) {
      const current = await requireGroup(ctx.stores, input.group_id);
      const before = describeGroup(current);
      requireMatch(ctx, before);
      const after = describeGroup(await updateGroup(ctx.stores, current, input, ctx.now));
      return { result: after, before, after, details: { group_id: current.id, name: after.name }, etag: etagOf(after) };
    },
  }),
  defineAction({
    name: 'groups.delete',
    summary: 'Deletes a group and its memberships (its members lose what it gave them in tokens issued from now on).',
    permission: 'admin:directory:write',
    event: 'directory_group_deleted',
    recentAuth: true,
    input: z.object({ group_id: id }).strict(),
    http: { method: 'DELETE', path: '/groups/{group_id}', status: 204 },
    async run(ctx, input) {
      const g = await requireGroup(ctx.stores, input.group_id);
      await ctx.stores.directory.deleteGroup(g.id);
      return { result: undefined, before: describeGroup(g), details: { group_id: g.id, name: g.name } };
    },
  }),
  defineAction({
    name: 'groups.members',
    summary: "A group's members (user ids), in order.",
    permission: 'admin:directory:read',
    event: 'admin_group_members_listed',
    input: z.object({ group_id: id, cursor: pageInput.cursor, limit: pageInput.limit }).strict(),
    http: { method: 'GET', path: '/groups/{group_id}/members' },
    async run(ctx, input) {
      await requireGroup(ctx.stores, input.group_id);
      const page = await ctx.stores.directory.members(input.group_id, pageQuery(input));
      return {
        result: pageResult(page, (user_id) => ({ user_id })),
        details: { group_id: input.group_id },
      };
    },
  }),
  defineAction({
    name: 'groups.add-member',
    summary: 'Adds a user to a group (201 when added, 200 when a member already).',
    permission: 'admin:directory:write',
    event: 'directory_member_added',
    recentAuth: true,
    input: z.object({ group_id: id, user_id: id }).strict(),
    http: { method: 'PUT', path: '/groups/{group_id}/members/{user_id}' },
    async run(ctx, input) {
      const g = await requireGroup(ctx.stores, input.group_id);
      await requireUser(ctx.stores, input.user_id);
      const added = await ctx.stores.directory.addMember(g.id, input.user_id, ctx.now);
      return {
        result: { group_id: g.id, user_id: input.user_id, added },
        details: { group_id: g.id, name: g.name, user_id: input.user_id, added },
        ...(added ? { status: 201 } : {}),
      };
    },
  }),
  defineAction({
    name: 'groups.remove-member',
    summary: 'Removes a user from a group.',
    permission: 'admin:directory:write',
    event: 'directory_member_removed',
    input: z.object({ group_id: id, user_id: id }).strict(),
    http: { method: 'DELETE', path: '/groups/{group_id}/members/{user_id}', status: 204 },
    async run(ctx, input) {
      const g = await requireGroup(ctx.stores, input.group_id);
      if (!(await ctx.stores.directory.removeMember(g.id, input.user_id)))
        throw new NotFoundError(`user ${input.user_id} is not a member of group ${g.name}`);
      return { result: undefined, details: { group_id: g.id, name: g.name, user_id: input.user_id } };
    },
  }),
  defineAction({
    name: 'users.groups',
    summary: "A user's groups, by name.",
    permission: 'admin:directory:read',
    event: 'admin_user_groups_listed',
    input: z.object({ user_id: id }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/groups' },
    async run(ctx, input) {
      await requireUser(ctx.stores, input.user_id);
      const groups = await ctx.stores.directory.groupsOfUser(input.user_id);
      return { result: { items: groups.map(describeGroup) }, details: { user_id: input.user_id } };
    },
  }),
];

const roleActions = [
  defineAction({
    name: 'app-roles.list',
    summary: 'The roles users hold for one application (client_id or resource), by role; search matches the role.',
    permission: 'admin:directory:read',
    event: 'admin_app_roles_listed',
    input: z.object({ ...application, ...pageInput }).strict(),
    http: { method: 'GET', path: '/app-roles' },
    async run(ctx, input) {
      const app = await resolveApplication(ctx.stores, input);
      const page = await ctx.stores.directory.pageRoles(app, pageQuery(input));
      return {
        result: pageResult(page, describeRole),
        ...clientOf(app),
      };
    },
  }),
  defineAction({
    name: 'users.app-roles',
    summary: "A user's application roles: for one application (client_id or resource), or for all.",
    permission: 'admin:directory:read',
    event: 'admin_user_app_roles_listed',
    input: z.object({ user_id: id, ...application }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/app-roles' },
    async run(ctx, input) {
      await requireUser(ctx.stores, input.user_id);
      const app =
        input.client_id !== undefined || input.resource !== undefined
          ? await resolveApplication(ctx.stores, input)
          : undefined;
      const roles = await ctx.stores.directory.rolesOfUser(input.user_id, app);
      return { result: { items: roles.map(describeRole) }, details: { user_id: input.user_id } };
    },
  }),
  defineAction({
    name: 'app-roles.assign',
    summary: 'Gives a user a role for one application (client_id or resource): 201 when given, 200 when held already.',
    permission: 'admin:directory:write',
    event: 'directory_app_role_assigned',
    recentAuth: true,
    input: z.object({ user_id: id, ...application, role: z.string().max(200) }).strict(),
    http: { method: 'POST', path: '/users/{user_id}/app-roles' },
    async run(ctx, input) {
      checkRole(input.role);
      const app = await resolveApplication(ctx.stores, input);
      await requireUser(ctx.stores, input.user_id);
      const assignment = { userId: input.user_id, application: app, role: input.role, grantedAt: ctx.now };
      const added = await ctx.stores.directory.assignRole(assignment);
      const after = describeRole(assignment);
      return {
        result: { ...after, added },
        ...(added ? { after, status: 201 } : {}),
        details: { user_id: input.user_id, role: input.role, application: app.id, added },
        ...clientOf(app),
      };
    },
  }),
  defineAction({
    name: 'app-roles.remove',
    summary: 'Takes a role for one application (client_id or resource) from a user.',
    permission: 'admin:directory:write',
    event: 'directory_app_role_removed',
    input: z.object({ user_id: id, ...application, role: z.string().max(200) }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/app-roles', status: 204 },
    async run(ctx, input) {
      checkRole(input.role);
      const app = await resolveApplication(ctx.stores, input);
      if (!(await ctx.stores.directory.removeRole(input.user_id, app, input.role)))
        throw new NotFoundError(`user ${input.user_id} does not hold role ${input.role} for ${app.id}`);
      return {
        result: undefined,
        before: { user_id: input.user_id, ...describeApplication(app), role: input.role },
        details: { user_id: input.user_id, role: input.role, application: app.id },
        ...clientOf(app),
      };
    },
  }),
];

const attributeActions = [
  defineAction({
    name: 'users.attributes',
    summary: "A user's attributes, by name.",
    permission: 'admin:directory:read',
    event: 'admin_user_attributes_listed',
    input: z.object({ user_id: id }).strict(),
    http: { method: 'GET', path: '/users/{user_id}/attributes' },
    async run(ctx, input) {
      await requireUser(ctx.stores, input.user_id);
      const attributes = await ctx.stores.directory.attributesOf(input.user_id);
      return { result: { items: attributes.map(describeAttribute) }, details: { user_id: input.user_id } };
    },
  }),
  defineAction({
    name: 'attributes.set',
    summary: "Sets one of a user's attributes (type: the value's JSON type unless given).",
    permission: 'admin:directory:write',
    event: 'directory_attribute_set',
    input: z
      .object({
        user_id: id,
        name: z.string().max(200),
        type: valueType.optional(),
        value: z.union([z.string(), z.number(), z.boolean(), z.array(z.string()).max(1000)]),
      })
      .strict(),
    http: { method: 'PUT', path: '/users/{user_id}/attributes/{name}' },
    async run(ctx, input) {
      const r = await setAttribute(ctx.stores, input.user_id, input.name, input.type, input.value, ctx.now);
      const after = describeAttribute(r.after);
      return {
        result: after,
        ...(r.before ? { before: describeAttribute(r.before) } : {}),
        after,
        details: { user_id: input.user_id, name: input.name, type: r.after.type },
      };
    },
  }),
  defineAction({
    name: 'attributes.remove',
    summary: "Removes one of a user's attributes.",
    permission: 'admin:directory:write',
    event: 'directory_attribute_removed',
    input: z.object({ user_id: id, name: z.string().max(200) }).strict(),
    http: { method: 'DELETE', path: '/users/{user_id}/attributes/{name}', status: 204 },
    async run(ctx, input) {
      const before = (await ctx.stores.directory.attributesOf(input.user_id)).find((a) => a.name === input.name);
      if (!before || !(await ctx.stores.directory.removeAttribute(input.user_id, input.name)))
        throw new NotFoundError(`user ${input.user_id} has no attribute ${input.name.slice(0, 100)}`);
      return {
        result: undefined,
        before: describeAttribute(before),
        details: { user_id: input.user_id, name: input.name },
      };
    },
  }),
];

const mappingBody = {
  claim: z.string().max(200),
  source: z.enum(CLAIM_SOURCES),
  attribute: z.string().max(200).optional(),
  type: valueType.optional(),
  scope: z.string().max(200),
  targets: z.array(z.enum(CLAIM_TARGETS)).min(1).max(3),
};

const mappingActions = [
  defineAction({
    name: 'claim-mappings.list',
    summary: 'The claim mappings: of one application (client_id or resource), or all; by application, then claim.',
    permission: 'admin:directory:read',
    event: 'admin_claim_mappings_listed',
    input: z.object({ ...application, cursor: pageInput.cursor, limit: pageInput.limit }).strict(),
    http: { method: 'GET', path: '/claim-mappings' },
    async run(ctx, input) {
      const app =
        input.client_id !== undefined || input.resource !== undefined
          ? await resolveApplication(ctx.stores, input)
          : undefined;
      const mine = (await ctx.stores.directory.listMappings()).filter(
        (m) => !app || (m.application.type === app.type && m.application.id === app.id),
      );
      const page = pageOfAll(
        mine,
        (m) => `${m.application.type}\n${m.application.id}\n${m.claim}`,
        () => [],
        pageQuery(input),
      );
      return { result: pageResult(page, describeMapping) };
    },
  }),
  defineAction({
    name: 'claim-mappings.create',
    summary:
      "Maps the user's groups, roles for the application or an attribute to a claim of one client's or resource server's tokens, released by a scope.",
    permission: 'admin:directory:write',
    event: 'directory_claim_mapping_created',
    recentAuth: true,
    input: z.object({ ...application, ...mappingBody }).strict(),
    http: { method: 'POST', path: '/claim-mappings', status: 201 },
    async run(ctx, input) {
      const m = await createMapping(ctx.stores, ctx.p.config, input, ctx.now);
      mappingsChanged(ctx);
      const after = describeMapping(m);
      return {
        result: after,
        after,
        etag: etagOf(after),
        ...mappingRecord(m),
      };
    },
  }),
  defineAction({
    name: 'claim-mappings.read',
    summary: 'One claim mapping.',
    permission: 'admin:directory:read',
    event: 'admin_claim_mapping_read',
    input: z.object({ mapping_id: id }).strict(),
    http: { method: 'GET', path: '/claim-mappings/{mapping_id}' },
    async run(ctx, input) {
      const m = await ctx.stores.directory.getMapping(input.mapping_id);
      if (!m) throw new NotFoundError(`no claim mapping ${input.mapping_id}`);
      const d = describeMapping(m);
      return { result: d, etag: etagOf(d) };
    },
  }),
  defineAction({
    name: 'claim-mappings.update',
    summary: "Changes a claim mapping (its application stays; If-Match: the mapping's ETag).",
    permission: 'admin:directory:write',
    event: 'directory_claim_mapping_updated',
    recentAuth: true,
    input: z
      .object({
        mapping_id: id,
        claim: mappingBody.claim.optional(),
        source: mappingBody.source.optional(),
        attribute: mappingBody.attribute.nullable(),
        type: mappingBody.type,
        scope: mappingBody.scope.optional(),
        targets: mappingBody.targets.optional(),
      })
      .strict(),
    http: { method: 'PATCH', path: '/claim-mappings/{mapping_id}' },
    async run(ctx, input) {
      const current = await ctx.stores.directory.getMapping(input.mapping_id);
      if (!current) throw new NotFoundError(`no claim mapping ${input.mapping_id}`);
      const before = describeMapping(current);
      requireMatch(ctx, before);
      const source = input.source ?? current.source;
      const attribute =
        input.attribute === null || (input.source !== undefined && input.source !== 'attribute')
          ? undefined
          : (input.attribute ?? current.attribute ?? undefined);
      const next = await buildMapping(
        ctx.stores,
        ctx.p.config,
        current.application,
        {
          claim: input.claim ?? current.claim,
          source,
          ...(attribute !== undefined ? { attribute } : {}),
          type: input.type ?? (input.source === undefined ? current.type : undefined),
          scope: input.scope ?? current.scope,
          targets: input.targets ?? current.targets,
        },
        current,
        ctx.now,
      );
      const r = await ctx.stores.directory.updateMapping(next);
      if (r === 'missing') throw new NotFoundError(`no claim mapping ${input.mapping_id}`);
      if (r === 'claim_taken') throw new ConflictError(`the application maps claim ${next.claim} already`);
      mappingsChanged(ctx);
      const after = describeMapping(next);
      return {
        result: after,
        before,
        after,
        etag: etagOf(after),
        ...mappingRecord(next),
      };
    },
  }),
  defineAction({
    name: 'claim-mappings.delete',
    summary: 'Deletes a claim mapping: tokens issued from now on do not carry the claim.',
    permission: 'admin:directory:write',
    event: 'directory_claim_mapping_deleted',
    recentAuth: true,
    input: z.object({ mapping_id: id }).strict(),
    http: { method: 'DELETE', path: '/claim-mappings/{mapping_id}', status: 204 },
    async run(ctx, input) {
      const m = await ctx.stores.directory.getMapping(input.mapping_id);
      if (!m || !(await ctx.stores.directory.deleteMapping(m.id)))
        throw new NotFoundError(`no claim mapping ${input.mapping_id}`);
      mappingsChanged(ctx);
      return {
        result: undefined,
        before: describeMapping(m),
        ...mappingRecord(m),
      };
    },
  }),
];

export const directoryActions = [...groupActions, ...roleActions, ...attributeActions, ...mappingActions];
