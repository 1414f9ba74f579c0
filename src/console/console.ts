// The admin console under /admin (issue 20): server-rendered pages over the action table. Every page
// reads through runAction (its permission, its audit record) and every form posts to one route that
// checks the form's CSRF token (bound to the session cookie and to the action) and runs the action
// through runAction: permissions, the recent sign-in rule and the audit trail are never a page's own
// check. A person signs in through Tessera's own login (the account area's session), needs an admin
// role and a second factor in the session. Bearer tokens are never read here: only the cookie.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ActionRefused, runAction, statusOf, type ActionResult, type AdminAction } from '../admin/action.ts';
import { ADMIN_ACTIONS } from '../admin/actions/index.ts';
import { OVERVIEW_PURPOSE } from '../protocol/account/overview.ts';
import { returnCookie, safeReturn } from '../protocol/account/common.ts';
import { checkCsrf, csrfToken } from '../protocol/interaction/session.ts';
import type { OAuthResponse, Provider, ProtocolRequest } from '../protocol/provider.ts';
import { msg, type Msg } from '../i18n/catalog.ts';
import {
  compose,
  consoleMessagePage,
  consolePage,
  data,
  fieldLabel,
  type ConsoleBase,
  type ConsoleField,
  type ConsoleForm,
  type ConsoleLink,
  type ConsolePage,
  type ConsoleTable,
  type Text,
} from '../ui/console-pages.ts';
import type { PageChrome } from '../ui/html.ts';
import { consoleAccess, type ConsoleAccess } from './access.ts';
import { SPANS, chartOf } from './chart.ts';
import { SHOWN, fieldsFor, inputFrom, membersOf, type MemberShape, type Problem } from './forms.ts';
import { isDestructive, isRead, sectionTitle, sectionsOf, summaryOf, titleOf, type Section } from './sections.ts';

/** What the HTTP layer lends the console: its request mapping and its way of sending answers. */
export interface ConsoleIO {
  /** The request as the protocol routes see it: query (GET) or form (POST) parameters, cookies, address. */
  request(req: FastifyRequest): ProtocolRequest;
  /** Sends an answer as the protocol routes' are sent: cookies, and a page with its nonce-based CSP. */
  send(reply: FastifyReply, res: OAuthResponse): unknown;
}

type Signed = Extract<ConsoleAccess, { kind: 'ok' }>;

/** Form members the console adds to every form (never an action's input). */
const CSRF = 'csrf';
const ETAG = '_etag';
/** The values an update's form started with (JSON): members sent unchanged are left out of the input. */
const WAS = '_was';
/** A read's form asks to run it (else the form is shown first). */
const GO = 'go';
/** Inputs a list page handles itself (paging), not shown as filters. */
const PAGING = new Set(['cursor', 'limit']);

const purposeOf = (a: AdminAction) => `console:${a.name}`;

export class Console {
  readonly sections: Section[];
  private readonly actions: readonly AdminAction[];
  /** The dashboard action (GET /dashboard): counts, per-minute figures, keys, health, security events. */
  private readonly summary: AdminAction | undefined;
  private readonly p: Provider;
  private readonly base: string;

  constructor(p: Provider, actions: readonly AdminAction[] = ADMIN_ACTIONS) {
    this.p = p;
    this.base = `${p.config.issuer}/admin`;
    this.actions = actions;
    this.summary = actions.find((x) => x.http?.method === 'GET' && x.http.path === '/dashboard');
    this.sections = sectionsOf(actions);
  }

  // ---- access -------------------------------------------------------------------------------------

  /** The person at the console, or the answer for someone who may not use it (yet). */
  async access(
    req: ProtocolRequest,
    back: string,
    action?: AdminAction,
  ): Promise<Signed | { response: OAuthResponse }> {
    const a = await consoleAccess(this.p, req);
    const issuer = this.p.config.issuer;
    // A signed-in person without an admin role (or without the second factor) who asks for an action:
    // runAction refuses it for no scopes, and so records the refusal (the actor, the address).
    if (action && (a.kind === 'no-role' || a.kind === 'needs-mfa'))
      await runAction(
        this.p,
        action,
        { kind: 'user', id: a.user.id, scopes: new Set(), via: 'console', ip: req.ip },
        {},
      ).catch(() => {});
    switch (a.kind) {
      case 'signed-out':
        // The account login, which comes back here once signed in (account/overview.ts reads the cookie).
        return {
          response: {
            kind: 'redirect',
            location: `${issuer}/account`,
            cookies: [returnCookie(back, this.p.config.interactionTtl)],
          },
        };
      case 'no-role':
        return {
          response: message(403, msg('console.noRole.title'), msg('console.noRole.text'), [
            { href: `${issuer}/account`, text: msg('console.link.account') },
          ]),
        };
      case 'needs-mfa': {
        const reauth = `${issuer}/account/reauth?return=${encodeURIComponent(safeReturn(back))}`;
        if (this.p.config.mfa === 'off')
          return {
            response: message(403, msg('console.mfa.title'), msg('console.mfa.off'), [
              { href: `${issuer}/account`, text: msg('console.link.account') },
            ]),
          };
        return {
          response: message(
            403,
            msg('console.mfa.title'),
            msg(a.hasFactor ? 'console.mfa.confirm' : 'console.mfa.none'),
            a.hasFactor
              ? [{ href: reauth, text: msg('console.mfa.confirmLink') }]
              : [
                  { href: `${issuer}/account/security`, text: msg('console.mfa.addLink') },
                  { href: reauth, text: msg('console.mfa.againLink') },
                ],
          ),
        };
      }
      case 'ok':
        return a;
    }
  }

  private frame(s: Signed, title: Text, current?: string, notice?: Text): Omit<ConsoleBase, 'nonce'> {
    return {
      base: this.p.config.issuer,
      username: s.user.username,
      userLocale: s.user.locale ?? null,
      role: s.role,
      nav: [
        ...(this.summary && s.principal.scopes.has(this.summary.permission)
          ? [{ id: 'dashboard', title: sectionTitle('dashboard') }]
          : []),
        ...this.sections
          .filter((x) => s.principal.scopes.has(x.list!.permission))
          .map((x) => ({ id: x.id, title: x.title })),
      ],
      ...(current ? { current } : {}),
      title,
      ...(notice ? { notice } : {}),
      // The account area's sign-out form (POST /account/logout) and its token.
      signOutCsrf: csrfToken(this.p, OVERVIEW_PURPOSE, s.cookie),
    };
  }

  private page(
    status: number,
    data: DistributiveOmit<ConsolePage, 'nonce'>,
    headers?: Record<string, string>,
  ): OAuthResponse {
    return {
      kind: 'page',
      status,
      view: {
        name: 'console',
        render: (chrome) => consolePage({ ...data, ...(chrome as PageChrome) } as ConsolePage),
      },
      // The operator's own language choice, when the page is theirs (the HTTP layer negotiates with it).
      ...('userLocale' in data ? { language: { userLocale: data.userLocale } } : {}),
      ...(headers ? { headers } : {}),
    };
  }

  // ---- running actions ----------------------------------------------------------------------------

  /** Runs an action for the person; refusals become the page that says so (or the re-authentication). */
  private async run(
    s: Signed,
    action: AdminAction,
    input: Record<string, unknown>,
    back: string,
    ifMatch?: string,
  ): Promise<{ r: ActionResult } | { refused: ActionRefused | Error; status: number; response?: OAuthResponse }> {
    try {
      return { r: await runAction(this.p, action, s.principal, input, ifMatch ? { ifMatch } : {}) };
    } catch (err) {
      const status = statusOf(err);
      if (status === undefined) throw err;
      if (err instanceof ActionRefused && err.code === 'reauthentication_required')
        return {
          refused: err,
          status,
          response: {
            kind: 'redirect',
            location: `${this.p.config.issuer}/account/reauth?return=${encodeURIComponent(safeReturn(back))}`,
          },
        };
      if (err instanceof ActionRefused && err.code === 'forbidden')
        return { refused: err, status, response: this.forbidden(s) };
      return { refused: err as Error, status };
    }
  }

  private forbidden(s: Signed): OAuthResponse {
    return this.page(403, {
      ...this.frame(s, msg('console.forbidden.title')),
      page: 'result',
      summary: msg('console.forbidden.text', { role: s.role }),
      value: undefined,
      links: [{ href: this.base, text: msg('console.back.dashboard') }],
    });
  }

  private notFound(s: Signed): OAuthResponse {
    return this.page(404, {
      ...this.frame(s, msg('console.notFound.title')),
      page: 'result',
      summary: msg('console.notFound.text'),
      value: undefined,
      links: [{ href: this.base, text: msg('console.back.dashboard') }],
    });
  }

  // ---- pages --------------------------------------------------------------------------------------

  async dashboard(req: ProtocolRequest): Promise<OAuthResponse> {
    const a = await this.access(req, '/admin');
    if ('response' in a) return a.response;
    const asked = req.params.get('hours') ?? '6';
    const hours = Object.hasOwn(SPANS, asked) ? asked : '6';
    if (!this.summary) return this.notFound(a);
    const out = await this.run(a, this.summary, { hours }, '/admin');
    if ('refused' in out) return out.response ?? this.failure(a, out.refused, out.status);
    const r = isObject(out.r.result) ? out.r.result : {};
    // The chart sums the action's per-minute figures into the span's buckets.
    const perMinute = isObject(r.activity) && Array.isArray(r.activity.per_minute) ? r.activity.per_minute : [];
    const rows = perMinute.filter(isObject).map((m) => ({
      minute: Math.floor(Date.parse(String(m.minute)) / 1000),
      values: Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number')),
    }));
    const { chart, totals } = chartOf(rows, hours, this.p.now());
    const counts = isObject(r.counts)
      ? Object.entries(r.counts).map(([k, v]): [Text, unknown] => [fieldLabel(k), v])
      : [];
    const { at: _at, counts: _c, activity: _a, ...details } = r;
    return this.page(200, {
      ...this.frame(a, sectionTitle('dashboard'), 'dashboard'),
      page: 'dashboard',
      facts: [...counts, ...chart.series.map((x): [Text, unknown] => [x.label, totals[x.name] ?? 0])],
      charts: [chart],
      details,
      links: Object.keys(SPANS)
        .filter((h) => h !== hours)
        .map((h) => ({
          href: `${this.base}?hours=${h}`,
          text: h === '1' ? msg('console.dashboard.lastHour') : msg('console.dashboard.lastHours', { hours: h }),
        })),
    });
  }

  async list(req: ProtocolRequest, id: string): Promise<OAuthResponse> {
    const section = this.sections.find((x) => x.id === id);
    const a = await this.access(req, section ? `/admin/${id}` : '/admin');
    if ('response' in a) return a.response;
    if (!section) return this.notFound(a);
    const action = section.list!;
    const members = membersOf(action.input);
    const query = readQuery(req.params, members);
    const out = await this.run(a, action, query.input, `/admin/${id}`);
    if ('refused' in out) {
      if (out.response) return out.response;
      // A list that needs a filter first (the consents of one user or one client): its form, and why.
      if (out.status === 400)
        return this.listPage(
          a,
          section,
          members,
          query.typed,
          undefined,
          out.refused,
          [...req.params.keys()].length ? 400 : 200,
        );
      return this.failure(a, out.refused, out.status);
    }
    return this.listPage(a, section, members, query.typed, out.r.result);
  }

  private listPage(
    s: Signed,
    section: Section,
    members: MemberShape[],
    typed: Record<string, unknown>,
    result: unknown,
    refused?: Error,
    status = 200,
  ): OAuthResponse {
    const filterMembers = members.filter((m) => !PAGING.has(m.name));
    const filters: ConsoleForm | undefined = filterMembers.length
      ? {
          id: 'filters',
          action: `${this.base}/${section.id}`,
          method: 'get',
          submit: msg(
            filterMembers.length === 1 && filterMembers[0]!.name === 'search'
              ? 'console.list.search'
              : 'console.list.filter',
          ),
          hidden: {},
          fields: fieldsFor(filterMembers, typed, refused instanceof ActionRefused ? refused.problems : []),
          ...(refused ? { error: data(refused.message) } : {}),
        }
      : undefined;
    const items = itemsOf(result);
    const key = section.key;
    // Without a record page, the one-button changes of a row are on the row (end a session, retire a key,
    // revoke a consent): the section's own actions whose path parameters the row has.
    const rowActions = section.get
      ? []
      : this.actions.filter(
          (x) =>
            !isRead(x) &&
            (section.item.includes(x) || x.name.split('.')[0] === section.id) &&
            s.principal.scopes.has(x.permission),
        );
    const columns = columnsOf(items, key);
    const table: ConsoleTable = {
      caption: section.title,
      columns: columns.map((k) => ({ key: k, label: fieldLabel(k) })),
      rows: items.map((item) => {
        const id = recordKeyOf(item, key);
        return {
          cells: columns.map((c) => item[c]),
          ...(id !== undefined && section.get && s.principal.scopes.has(section.get.permission)
            ? { href: `${this.base}/${section.id}/${encodeURIComponent(id)}` }
            : {}),
          forms: rowActions.flatMap((x) => {
            const fixed = rowInput(x, item);
            if (!fixed) return [];
            const label = compose(msg('console.row.label'), {
              action: titleOf(x),
              target: data(Object.values(fixed).join(' ')),
            });
            return [this.buttonForm(s, x, fixed, label)];
          }),
        };
      }),
      empty: msg('console.list.empty'),
    };
    const next = isObject(result) && typeof result.next_cursor === 'string' ? result.next_cursor : undefined;
    const nextQuery = new URLSearchParams();
    for (const [k, v] of Object.entries(typed)) if (typeof v === 'string' && v && k !== 'cursor') nextQuery.set(k, v);
    if (next) nextQuery.set('cursor', next);
    const { forms, links } = this.collectionActions(s, section);
    // The signing keys' page shows what the JWKS publishes now (public keys only).
    const preview =
      section.id === 'keys' && result !== undefined
        ? {
            title: msg('console.keys.jwks'),
            text: JSON.stringify(JSON.parse(this.p.keys().jwksBody.toString('utf8')), null, 2),
          }
        : undefined;
    return this.page(status, {
      ...this.frame(s, section.title, section.id),
      page: 'list',
      ...(filters ? { filters } : {}),
      table,
      ...(next ? { next: `${this.base}/${section.id}?${nextQuery}` } : {}),
      forms,
      links,
      ...(preview ? { preview } : {}),
      // A section whose read is one record (settings), not a list: the record.
      ...(isObject(result) && !isList(result, members) ? { value: result } : {}),
    });
  }

  /** The collection's actions the person may run: small forms inline, the others as links to their form. */
  private collectionActions(s: Signed, section: Section): { forms: ConsoleForm[]; links: ConsoleLink[] } {
    const forms: ConsoleForm[] = [];
    const links: ConsoleLink[] = [];
    for (const x of section.collection) {
      if (!s.principal.scopes.has(x.permission)) continue;
      const members = membersOf(x.input);
      if (!isRead(x) && members.length <= 2) forms.push(this.actionForm(s, x, members, {}, {}));
      else links.push({ href: `${this.base}/do/${x.name}`, text: titleOf(x) });
    }
    return { forms, links };
  }

  async record(req: ProtocolRequest, id: string, key: string): Promise<OAuthResponse> {
    const section = this.sections.find((x) => x.id === id);
    const a = await this.access(req, section ? `/admin/${id}` : '/admin');
    if ('response' in a) return a.response;
    if (!section?.get || !section.key) return this.notFound(a);
    const out = await this.run(a, section.get, { [section.key]: key }, `/admin/${id}`);
    if ('refused' in out) return out.response ?? this.failure(a, out.refused, out.status);
    return this.recordPage(a, section, key, out.r, req.params.get('done') ?? undefined);
  }

  private recordPage(s: Signed, section: Section, key: string, r: ActionResult, notice?: string): OAuthResponse {
    const forms: ConsoleForm[] = [];
    const links: ConsoleLink[] = [];
    const keyInput = { [section.key!]: key };
    const current = isObject(r.result) ? r.result : {};
    for (const x of section.item) {
      if (!s.principal.scopes.has(x.permission)) continue;
      const members = membersOf(x.input).filter((m) => m.name !== section.key);
      const method = x.http?.method;
      if (isRead(x)) {
        const q = new URLSearchParams({ ...keyInput, [GO]: '1' });
        links.push({ href: `${this.base}/do/${x.name}?${q}`, text: titleOf(x) });
      } else if (members.length === 0 && method === 'DELETE')
        // A deletion asks once more: its button opens a page with the button that does it.
        forms.push({
          id: x.name.replace(/[^a-z0-9]+/gi, '-'),
          action: `${this.base}/do/${x.name}`,
          method: 'get',
          submit: compose(msg('console.form.ask'), { action: titleOf(x) }),
          hidden: keyInput,
          fields: [],
          danger: true,
        });
      else if (members.length === 0) forms.push(this.buttonForm(s, x, keyInput));
      else if (method === 'PATCH' || method === 'PUT') {
        // The values the form starts with go with it: only what the person changed is sent to the action.
        const was = JSON.stringify(Object.fromEntries(fieldsFor(members, current).map((f) => [f.name, fieldText(f)])));
        forms.push(this.actionForm(s, x, members, current, { ...keyInput, [WAS]: was }, r.etag));
      } else links.push({ href: `${this.base}/do/${x.name}?${new URLSearchParams(keyInput)}`, text: titleOf(x) });
    }
    return this.page(
      200,
      {
        ...this.frame(
          s,
          compose(msg('console.record.title'), { section: section.title, name: data(nameOf(current) ?? key) }),
          section.id,
          notice ? noticeOf(notice) : undefined,
        ),
        page: 'record',
        value: r.result,
        forms,
        links,
        back: {
          href: `${this.base}/${section.id}`,
          text: compose(msg('console.back.section'), { section: section.title }),
        },
      },
      r.etag ? { etag: r.etag } : undefined,
    );
  }

  /** A form that runs `action` with only `fixed` (its key): one button. */
  private buttonForm(s: Signed, action: AdminAction, fixed: Record<string, string>, label?: Text): ConsoleForm {
    return {
      ...this.actionForm(s, action, [], {}, fixed),
      ...(label ? { label } : {}),
    };
  }

  private actionForm(
    s: Signed,
    action: AdminAction,
    members: readonly MemberShape[],
    values: Record<string, unknown>,
    fixed: Record<string, string>,
    etag?: string,
    problems: readonly Problem[] = [],
    error?: Text,
  ): ConsoleForm {
    const read = isRead(action);
    return {
      id: action.name.replace(/[^a-z0-9]+/gi, '-'),
      action: `${this.base}/do/${action.name}`,
      method: read ? 'get' : 'post',
      title: members.length ? titleOf(action) : undefined,
      description: summaryOf(action),
      submit: read ? msg('console.form.show') : titleOf(action),
      hidden: {
        ...fixed,
        ...(read
          ? { [GO]: '1' }
          : { [CSRF]: csrfToken(this.p, purposeOf(action), s.cookie), [SHOWN]: members.map((m) => m.name).join(',') }),
        ...(etag ? { [ETAG]: etag } : {}),
      },
      fields: fieldsFor(members, values, problems),
      ...(isDestructive(action) ? { danger: true } : {}),
      ...(action.recentAuth ? { note: msg('console.form.recentAuth') } : {}),
      ...(error ? { error } : {}),
    } as ConsoleForm;
  }

  /**
   * The page of one action's form (its members but the fixed ones, which it carries hidden), with
   * the values typed so far and, when it comes back refused, the problems and why.
   */
  private async formPage(
    status: number,
    s: Signed,
    action: AdminAction,
    section: Section | undefined,
    members: readonly MemberShape[],
    fixed: Record<string, string>,
    values: Record<string, unknown>,
    again: { etag?: string; problems?: readonly Problem[]; error?: Text } = {},
  ): Promise<OAuthResponse> {
    const target = await this.targetOf(s, section, fixed);
    const form = this.actionForm(
      s,
      action,
      members.filter((m) => !(m.name in fixed)),
      values,
      fixed,
      again.etag,
      again.problems,
      again.error,
    );
    return this.page(status, {
      ...this.frame(s, titleOf(action), section?.id),
      page: 'form',
      form: { ...form, title: undefined },
      summary: summaryOf(action),
      ...(target ? { target } : {}),
      back: this.backOf(section, fixed),
    });
  }

  /**
   * The record a form acts on, said on the page and not only in a hidden member ("User: alice
   * (user_id …)"): its name when the person may read it, else its key alone.
   */
  private async targetOf(
    s: Signed,
    section: Section | undefined,
    fixed: Record<string, string>,
  ): Promise<{ label: Text; text: Text } | undefined> {
    const key = section?.key;
    const value = key ? fixed[key] : undefined;
    if (!section || !key || !value) return undefined;
    let name: string | undefined;
    if (section.get && s.principal.scopes.has(section.get.permission)) {
      const r = await runAction(this.p, section.get, s.principal, { [key]: value }).catch(() => undefined);
      name = r && isObject(r.result) ? nameOf(r.result) : undefined;
    }
    // One record of the section ("User"), else the key's own label.
    const label = section.one ?? fieldLabel(key);
    return {
      label,
      text: name && name !== value ? msg('console.target.named', { name, key, value }) : data(value),
    };
  }

  /** GET /admin/do/<action>: a change's form, or a read (run at once, or its form first when it has inputs). */
  async showAction(req: ProtocolRequest, name: string): Promise<OAuthResponse> {
    const action = this.actionOf(name);
    const section = action && this.sectionOf(action);
    const back = section ? `/admin/${section.id}` : '/admin';
    const a = await this.access(req, back, action);
    if ('response' in a) return a.response;
    if (!action) return this.notFound(a);
    // Not linked for someone without the permission, and refused (the run would be refused and recorded).
    if (!a.principal.scopes.has(action.permission)) {
      await runAction(this.p, action, a.principal, {}).catch(() => {}); // records the refusal
      return this.forbidden(a);
    }
    const members = membersOf(action.input);
    const fixed = fixedOf(req.params, members, section);
    // A change's form takes only the record's key from the link; its other members start empty (or at
    // their defaults): a link never chooses what the person's click would change (a role, a setting).
    if (!isRead(action)) return this.formPage(200, a, action, section, members, fixed, {});
    const query = readQuery(req.params, members);
    if (!req.params.has(GO) && members.some((m) => !(m.name in fixed)))
      return this.formPage(200, a, action, section, members, fixed, query.typed);
    const out = await this.run(a, action, query.input, back);
    if ('refused' in out) {
      if (out.response) return out.response;
      if (out.status === 400 && out.refused instanceof ActionRefused)
        return this.formPage(400, a, action, section, members, fixed, query.typed, {
          problems: out.refused.problems,
          error: data(out.refused.message),
        });
      return this.failure(a, out.refused, out.status);
    }
    const result = out.r.result;
    if (isObject(result) && typeof result.contentType === 'string' && typeof result.body === 'string') {
      const ext = /csv/.test(result.contentType)
        ? 'csv'
        : /ndjson|jsonl|json-seq/.test(result.contentType)
          ? 'jsonl'
          : 'txt';
      return {
        kind: 'raw',
        status: 200,
        contentType: result.contentType,
        body: result.body,
        headers: {
          'content-disposition': `attachment; filename="tessera-${action.name.replace(/[^a-z0-9]+/gi, '-')}.${ext}"`,
          'cache-control': 'no-store',
        },
      };
    }
    return this.page(200, {
      ...this.frame(a, titleOf(action), section?.id),
      page: 'result',
      summary: summaryOf(action),
      value: result,
      links: [this.backOf(section, fixed)],
    });
  }

  /** POST /admin/do/<action>: the form's token, then the action through runAction. */
  async submitAction(req: ProtocolRequest, name: string): Promise<OAuthResponse> {
    const action = this.actionOf(name);
    const section = action && this.sectionOf(action);
    const back = section ? `/admin/${section.id}` : '/admin';
    const a = await this.access(req, back, action && !isRead(action) ? action : undefined);
    if ('response' in a) return a.response;
    if (!action || isRead(action)) return this.notFound(a);
    const csrf = req.params.getAll(CSRF);
    if (csrf.length !== 1 || !checkCsrf(this.p, purposeOf(action), a.cookie, csrf[0]))
      return this.page(403, {
        ...this.frame(a, msg('console.expired.title'), section?.id),
        page: 'result',
        summary: msg('console.expired.text'),
        value: undefined,
        links: [{ href: `${this.p.config.issuer}${back}`, text: msg('console.back') }],
      });
    const members = membersOf(action.input);
    const shown = new Set((req.params.get(SHOWN) ?? '').split(',').filter(Boolean));
    const fixed = fixedOf(req.params, members, section, shown);
    const { input, problems, typed } = inputFrom(members, req.params);
    const was = req.params.get(WAS);
    if (was !== null) {
      // An update: what the person left as it was is not sent (PATCH changes only what it names).
      fixed[WAS] = was;
      const before = parseWas(was);
      for (const m of members) {
        const now =
          m.kind === 'checkboxes' ? [...req.params.getAll(m.name)].sort().join('\n') : (req.params.get(m.name) ?? '');
        if (Object.hasOwn(before, m.name) && norm(now) === norm(before[m.name]!)) delete input[m.name];
      }
    }
    const retry = (status: number, list: readonly Problem[], error: Text) =>
      this.formPage(status, a, action, section, members, fixed, typed, {
        etag: req.params.get(ETAG) ?? undefined,
        problems: list,
        error,
      });
    if (problems.length) return retry(400, problems, problemsText(problems));
    const out = await this.run(a, action, input, back, req.params.get(ETAG) ?? undefined);
    if ('refused' in out) {
      if (out.response) return out.response;
      if (out.status === 404) return this.failure(a, out.refused, 404);
      return retry(
        out.status,
        out.refused instanceof ActionRefused ? out.refused.problems : [],
        out.status === 412 ? msg('console.conflict') : data(out.refused.message),
      );
    }
    const key = section?.key && fixed[section.key];
    // A change to one record shows the record again, unless it is gone; anything shown once (a new secret) stays here.
    const done = compose(msg('console.done'), { action: titleOf(action) });
    if (key && section.get && action.http?.method !== 'DELETE' && !showsOnce(out.r.result))
      return {
        kind: 'redirect',
        location: `${this.base}/${section.id}/${encodeURIComponent(key)}?done=${encodeURIComponent(action.name)}`,
      };
    return this.page(
      out.r.status ?? 200,
      {
        ...this.frame(a, titleOf(action), section?.id, done),
        page: 'result',
        summary: showsOnce(out.r.result) ? msg('console.secretOnce') : summaryOf(action),
        value: out.r.result,
        links: [this.backOf(section, key && action.http?.method !== 'DELETE' ? fixed : {})],
      },
      { 'cache-control': 'no-store' },
    );
  }

  private failure(s: Signed, err: Error, status: number): OAuthResponse {
    return this.page(status, {
      ...this.frame(s, msg(status === 404 ? 'console.notFound.title' : 'console.refused.title')),
      page: 'result',
      // The admin layer's reason, as it gives it (its words are not the console's catalog).
      summary: data(err.message),
      value: undefined,
      links: [{ href: this.base, text: msg('console.back.dashboard') }],
    });
  }

  private actionOf(name: string): AdminAction | undefined {
    return this.actions.find((x) => x.name === name);
  }

  private sectionOf(action: AdminAction): Section | undefined {
    return this.sections.find(
      (x) => x.list === action || x.get === action || x.collection.includes(action) || x.item.includes(action),
    );
  }

  private backOf(section: Section | undefined, fixed: Record<string, string>): ConsoleLink {
    if (!section) return { href: this.base, text: msg('console.back.dashboard') };
    const key = section.key && fixed[section.key];
    if (key && section.get)
      return {
        href: `${this.base}/${section.id}/${encodeURIComponent(key)}`,
        text: msg('console.back.record', { key }),
      };
    return {
      href: `${this.base}/${section.id}`,
      text: compose(msg('console.back.section'), { section: section.title }),
    };
  }
}

// ---- helpers --------------------------------------------------------------------------------------

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The problems of a form as one text: "<label>: <problem>" each. */
const problemsText = (problems: readonly Problem[]): Text => {
  const [first, ...rest] = problems.map((x) =>
    compose(msg('console.form.problem'), {
      field: fieldLabel(x.field),
      message: typeof x.message === 'string' ? data(x.message) : x.message,
    }),
  );
  // Sentences one after the other: each said in the page's language, joined by a space.
  return rest.reduce<Text>((all, next) => compose(msg('console.join'), { first: all, next }), first!);
};

function message(status: number, title: Msg, text: Msg, links: ConsoleLink[]): OAuthResponse {
  return {
    kind: 'page',
    status,
    view: {
      name: 'console',
      render: (chrome) => consoleMessagePage({ ...(chrome as PageChrome), title, message: text, links }),
    },
  };
}

/** A list's or a read's input from the query string: the schema's members only, empty ones left out. */
function readQuery(params: URLSearchParams, members: readonly MemberShape[]) {
  const shown = new URLSearchParams();
  for (const m of members) for (const v of params.getAll(m.name)) shown.append(m.name, v);
  return inputFrom(members, shown);
}

/** The record key (and any other path parameter) a form carries as a hidden member. */
function fixedOf(
  params: URLSearchParams,
  members: readonly MemberShape[],
  section: Section | undefined,
  shown?: ReadonlySet<string>,
): Record<string, string> {
  const fixed: Record<string, string> = {};
  const key = section?.key;
  if (key && members.some((m) => m.name === key) && !shown?.has(key)) {
    const v = params.get(key);
    if (v !== null && v !== '') fixed[key] = v;
  }
  return fixed;
}

/**
 * The input of a one-button form for a row: the action's path parameters from the row, when the row
 * has them all and the action needs nothing else; undefined otherwise.
 */
function rowInput(a: AdminAction, item: Record<string, unknown>): Record<string, string> | undefined {
  const params = [...(a.http?.path ?? '').matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!);
  if (params.length === 0) return undefined;
  const members = membersOf(a.input);
  if (members.some((m) => m.required && !params.includes(m.name))) return undefined;
  const fixed: Record<string, string> = {};
  for (const name of params) {
    const v = item[name];
    if (typeof v !== 'string' && typeof v !== 'number') return undefined;
    fixed[name] = String(v);
  }
  return fixed;
}

/** What a record is called on its page: its username, client name or name, if it has one. */
const nameOf = (r: Record<string, unknown>): string | undefined =>
  [r.username, r.client_name, r.name].find((v): v is string => typeof v === 'string' && v !== '');

/** A field's value as the form sends it (checkboxes: the ticked values, sorted, one per line). */
const fieldText = (f: ConsoleField) =>
  f.kind === 'checkboxes' ? [...(f.values ?? [])].sort().join('\n') : (f.value ?? '');
const norm = (text: string) => text.replace(/\r\n?/g, '\n').trim();
function parseWas(text: string): Record<string, string> {
  if (text.length > 64_000) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (!isObject(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** Whether a section's read is a list: `items` (paged), paging inputs, or one member that is a list (`keys`). */
const isList = (result: Record<string, unknown>, members: readonly MemberShape[]) =>
  Array.isArray(result.items) ||
  members.some((m) => m.name === 'cursor') ||
  (Object.keys(result).length === 1 && Array.isArray(Object.values(result)[0]));

/** The rows of a list's result: `items`, else its first list of records. */
function itemsOf(result: unknown): Record<string, unknown>[] {
  if (!isObject(result)) return [];
  const list = Array.isArray(result.items) ? result.items : Object.values(result).find((v) => Array.isArray(v));
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/**
 * The value that names a row's record page: the member of the section's key (`client_id`), or the
 * row's `id` when the key is `<something>_id` and the row names it `id` (a user's `user_id` is its `id`).
 */
function recordKeyOf(item: Record<string, unknown>, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const v = item[key] ?? (key.endsWith('_id') ? item.id : undefined);
  return v === undefined || v === null ? undefined : String(v);
}

/** Members that say whose or which a row is, shown first (after the key) when a row has them. */
const IDENTIFYING = ['id', 'username', 'user_id', 'client_id', 'client_name', 'name'];

/** The columns of a list: the key first, then the items' scalar members (at most 7). */
function columnsOf(items: Record<string, unknown>[], key: string | undefined): string[] {
  const names: string[] = [];
  const nested: string[] = [];
  for (const item of items.slice(0, 20))
    for (const [k, v] of Object.entries(item)) {
      if (names.includes(k) || nested.includes(k)) continue;
      const scalar = v === null || typeof v !== 'object' || (Array.isArray(v) && v.every((x) => typeof x !== 'object'));
      (scalar ? names : nested).push(k);
    }
  const first = [key, ...IDENTIFYING].filter(
    (n, i, all): n is string => !!n && names.includes(n) && all.indexOf(n) === i,
  );
  const ordered = [...first, ...names.filter((n) => !first.includes(n))];
  // Structured members (an audit record's details) last, each behind a "Show" (no record page has them).
  return [...ordered.slice(0, 7), ...nested.slice(0, 1)];
}

/** A result that carries a secret shown once (a new client secret, a token). */
const showsOnce = (v: unknown): boolean =>
  isObject(v) && Object.keys(v).some((k) => /(^|_)(secret|token|password)$/.test(k) && typeof v[k] === 'string');

const noticeOf = (actionName: string): Text | undefined => {
  const a = ADMIN_ACTIONS.find((x) => x.name === actionName);
  return a ? compose(msg('console.done'), { action: titleOf(a) }) : undefined;
};
