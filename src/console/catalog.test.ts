// The console's words in every language: each action the console can show has its title and summary in the
// catalog, each member its forms show has its label, each member's description its hint, each section its
// title (that German and French say them in their own words is src/i18n/catalog.test.ts's check, for every
// area). A new action without translations fails here.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN_ACTIONS } from '../admin/actions/index.ts';
import { msg } from '../i18n/catalog.ts';
import { en, de } from '../i18n/messages/console.ts';
import { consolePage, hasKey, fieldLabel, type ConsoleBase } from '../ui/console-pages.ts';
import { fieldsFor, hintOf, membersOf } from './forms.ts';
import { sectionsOf, summaryOf, titleOf } from './sections.ts';

describe('the console catalog', () => {
  const sections = sectionsOf(ADMIN_ACTIONS);

  it('has a title and a summary for every action of the table', () => {
    for (const a of ADMIN_ACTIONS) {
      assert.ok(hasKey(`console.action.${a.name}.title`), `console.action.${a.name}.title`);
      assert.ok(hasKey(`console.action.${a.name}.summary`), `console.action.${a.name}.summary`);
      assert.equal('data' in titleOf(a), false, a.name);
      assert.equal('data' in summaryOf(a), false, a.name);
    }
  });

  it('labels every input member the forms show, and has a hint for every description', () => {
    for (const a of ADMIN_ACTIONS)
      for (const f of fieldsFor(membersOf(a.input))) {
        assert.ok(hasKey(`console.field.${f.name}`), `console.field.${f.name} (${a.name})`);
        assert.equal('data' in f.label, false, f.name);
        if (f.hint) assert.equal('data' in f.hint, false, `the hint of ${a.name} ${f.name}`);
      }
    for (const a of ADMIN_ACTIONS)
      for (const m of membersOf(a.input))
        if (m.description) assert.equal('data' in hintOf(m.description), false, m.description);
  });

  it('names every section and one record of it', () => {
    for (const s of sections) {
      assert.ok(hasKey(`console.section.${s.id}`), s.id);
      assert.ok(hasKey(`console.one.${s.id}`), s.id);
    }
  });
});

describe('a console page in German', () => {
  const sections = sectionsOf(ADMIN_ACTIONS);
  const create = ADMIN_ACTIONS.find((a) => a.name === 'users.create')!;
  const base: Omit<ConsoleBase, 'title'> = {
    nonce: 'n',
    locale: 'de',
    base: 'https://id.example',
    username: 'olga',
    role: 'owner',
    nav: [
      { id: 'dashboard', title: msg('console.section.dashboard') },
      ...sections.map((s) => ({ id: s.id, title: s.title })),
    ],
    current: 'users',
    signOutCsrf: 't',
  };
  const page = consolePage({
    ...base,
    title: titleOf(create),
    page: 'form',
    summary: summaryOf(create),
    form: {
      id: 'users-create',
      action: 'https://id.example/admin/do/users.create',
      method: 'post',
      submit: titleOf(create),
      hidden: {},
      fields: fieldsFor(membersOf(create.input)),
    },
    back: { href: 'https://id.example/admin/users', text: msg('console.back.dashboard') },
  });
  /** The page's texts: each text node and each aria-label, trimmed. */
  const texts = [
    ...page
      .replace(/<style[\s\S]*?<\/style>/g, '')
      .split(/<[^>]*>/)
      .map((x) => x.trim()),
    ...[...page.matchAll(/aria-label="([^"]*)"/g)].map((m) => m[1]!),
  ].filter(Boolean);

  it('shows the navigation, the action title, its fields and the buttons in German', () => {
    const nav = page.slice(page.indexOf('<nav'), page.indexOf('</nav>'));
    for (const word of ['Übersicht', 'Benutzer', 'Sitzungen', 'Signaturschlüssel', 'Audit-Protokoll', 'Einstellungen'])
      assert.match(nav, new RegExp(`>${word}</a>`), word);
    assert.match(page, /<h1>Benutzer anlegen<\/h1>/);
    assert.match(page, /<button type="submit" class="">Benutzer anlegen<\/button>/);
    assert.match(page, /<label for="users-create-username">Benutzername/);
    assert.match(page, /Angemeldet als <strong>olga<\/strong>/);
    assert.match(page, />Abmelden<\/button>/);
    assert.match(page, /aria-label="Konsole"/);
  });

  it('has no text of the console in English where German says it otherwise', () => {
    const english = new Set<string>(
      Object.entries(en)
        .filter(([k, v]) => de[k as keyof typeof en] !== v)
        .map(([, v]) => v),
    );
    for (const text of texts) assert.equal(english.has(text), false, `English on the German page: ${text}`);
  });

  it('labels members the catalog knows, and falls back to their names only for others', () => {
    assert.deepEqual(fieldLabel('client_id'), msg('console.field.client_id'));
    assert.deepEqual(fieldLabel('not_a_member'), { data: 'Not a member' });
  });
});
