import { describe, it } from 'node:test';
import { msg } from '../i18n/catalog.ts';
import assert from 'node:assert/strict';
import { escapeHtml, html, layout, raw } from './html.ts';
import {
  consentPage,
  deviceDonePage,
  deviceEntryPage,
  errorPage,
  formPostPage,
  loggedOutPage,
  loginPage,
  logoutConfirmPage,
  selectAccountPage,
  signupPage,
} from './pages.ts';

const NONCE = 'bm9uY2UtdGVzdA==';
const XSS = '<script>alert(1)</script>';
const ATTR = '"><img src=x onerror=1>';
const HOSTILE = `${XSS}${ATTR}'&`;

// ---- tiny HTML inspection helpers (all our attribute values are double-quoted) ----

type Tag = { name: string; attrs: Record<string, string> };

function decode(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function tags(doc: string, name: string): Tag[] {
  const out: Tag[] = [];
  for (const m of doc.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'gi'))) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/g)) {
      attrs[a[1]!.toLowerCase()] = decode(a[2] ?? '');
    }
    out.push({ name, attrs });
  }
  return out;
}

function forms(doc: string): { attrs: Record<string, string>; inner: string }[] {
  return [...doc.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => ({
    attrs: tags(`<form${m[1]}>`, 'form')[0]!.attrs,
    inner: m[2]!,
  }));
}

function hiddenFields(formInner: string): [string, string][] {
  return tags(formInner, 'input')
    .filter((t) => t.attrs.type === 'hidden')
    .map((t) => [t.attrs.name!, t.attrs.value!]);
}

function assertDocument(doc: string, opts: { script?: boolean; links?: boolean; images?: boolean } = {}): void {
  assert.match(doc, /^<!doctype html>\n<html lang="en">/);
  assert.match(doc, /<meta charset="utf-8">/);
  assert.ok(doc.includes('<meta name="viewport" content="width=device-width, initial-scale=1">'));
  assert.match(doc, /<title>[^<]+<\/title>/);
  assert.equal(tags(doc, 'style').length, 1, 'exactly one <style>');
  assert.ok(doc.includes(`<style nonce="${NONCE}">`), 'style carries the nonce');
  assert.equal(tags(doc, 'main').length, 1, 'one <main> landmark');
  assert.ok(doc.includes('Tessera'));
  assert.ok(doc.trimEnd().endsWith('</html>'));
  // No external resources or inline event handlers.
  for (const m of doc.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>/g)) {
    const name = m[1]!.toLowerCase();
    assert.ok(
      !['link', 'iframe', 'object', 'embed', 'base'].includes(name) &&
        (name !== 'img' || opts.images) &&
        (name !== 'a' || opts.links),
      `no <${name}>`,
    );
    for (const [attr, value] of Object.entries(tags(m[0], name)[0]!.attrs)) {
      // Plain links (sign-up <-> sign-in) only where a page is meant to have them, never javascript:.
      const link = opts.links && name === 'a' && attr === 'href' && !/^\s*javascript:/i.test(value);
      // Images only from Tessera's own routes (the pages' CSP has img-src 'self').
      const image = opts.images && name === 'img' && attr === 'src' && /^https:\/\/id\.example\//.test(value);
      assert.ok(
        (attr !== 'src' || image) && (attr !== 'href' || link) && !attr.startsWith('on'),
        `no ${attr}= on <${name}>`,
      );
      assert.ok(attr !== 'style', 'no style attributes (CSP blocks them)');
    }
  }
  const style = /<style\b[^>]*>([\s\S]*?)<\/style>/.exec(doc)![1]!;
  assert.doesNotMatch(style, /@import|url\(/i, 'stylesheet loads nothing');
  const scripts = tags(doc, 'script');
  if (opts.script) {
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0]!.attrs.nonce, NONCE);
  } else {
    assert.equal(scripts.length, 0, 'no scripts');
  }
  // Focus styles and dark mode are present.
  assert.ok(doc.includes(':focus-visible'));
  assert.ok(doc.includes('prefers-color-scheme: dark'));
}

function assertEscaped(doc: string): void {
  assert.ok(!doc.includes(XSS), 'raw <script> payload must not appear');
  assert.ok(!doc.includes(ATTR), 'attribute-breaking payload must not appear');
  assert.ok(!doc.includes('<img'), 'no injected element');
  assert.ok(doc.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'payload appears escaped');
  assert.ok(doc.includes('&quot;&gt;&lt;img src=x onerror=1&gt;'), 'attribute payload appears escaped');
}

function assertLabelledInputs(doc: string): void {
  for (const input of tags(doc, 'input')) {
    if (input.attrs.type === 'hidden') continue;
    const id = input.attrs.id;
    assert.ok(id, `visible input ${input.attrs.name} has an id`);
    assert.ok(
      tags(doc, 'label').some((l) => l.attrs.for === id),
      `input #${id} has a <label for>`,
    );
  }
}

// ---- html.ts ----

describe('escapeHtml', () => {
  it('escapes the five significant characters', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
  it('leaves ordinary text alone and does not double-decode', () => {
    assert.equal(escapeHtml('Hello, wörld — 1 + 1'), 'Hello, wörld — 1 + 1');
    assert.equal(escapeHtml('&amp;'), '&amp;amp;');
  });
});

describe('html template', () => {
  it('escapes interpolations but keeps nested Html', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(
      html`<p title="${ATTR}">${inner}${[XSS, raw('<br>')]}${undefined}${false}${0}</p>`.value,
      '<p title="&quot;&gt;&lt;img src=x onerror=1&gt;"><b>&lt;i&gt;</b>&lt;script&gt;alert(1)&lt;/script&gt;<br>0</p>',
    );
  });
});

describe('layout', () => {
  it('renders a full document and escapes title and nonce', () => {
    const doc = layout({ title: XSS, nonce: ATTR, body: html`<p>hi</p>` });
    assert.match(doc, /^<!doctype html>/);
    assert.ok(doc.includes('<title>&lt;script&gt;alert(1)&lt;/script&gt; · Tessera</title>'));
    assert.ok(doc.includes('<style nonce="&quot;&gt;&lt;img src=x onerror=1&gt;">'));
    assert.ok(doc.includes('<main>\n<p>hi</p>\n</main>'));
  });
  it('treats a plain-string body as text, not markup', () => {
    const doc = layout({ title: 't', nonce: NONCE, body: XSS });
    assert.ok(!doc.includes(XSS));
    assert.ok(doc.includes('&lt;script&gt;'));
  });
  it("shows the deployment's brand: name in the header and title, logo, colours, footer links", () => {
    const doc = layout({
      title: 'Sign in',
      nonce: NONCE,
      body: html`<p>hi</p>`,
      brand: {
        name: 'Acme <ID>',
        logoUrl: '/branding/logo?v=abc',
        primaryColor: '#0b5394',
        primaryTextColor: '#ffffff',
        privacyUrl: 'https://acme.example/privacy',
        termsUrl: 'https://acme.example/terms',
        supportUrl: 'https://acme.example/help',
      },
    });
    assert.ok(doc.includes('<title>Sign in · Acme &lt;ID&gt;</title>'));
    assert.ok(doc.includes('<img class="brand-logo" src="/branding/logo?v=abc" alt="Acme &lt;ID&gt;" height="32">'));
    assert.ok(doc.includes('<span>Acme &lt;ID&gt;</span></header>'));
    assert.ok(!doc.includes('brand-mark" aria-hidden'));
    assert.match(doc, /--primary: #0b5394; .*--on-primary: #ffffff;/);
    assert.equal(tags(doc, 'style').length, 1);
    for (const [href, label] of [
      ['https://acme.example/privacy', 'Privacy'],
      ['https://acme.example/terms', 'Terms'],
      ['https://acme.example/help', 'Help'],
    ])
      assert.ok(doc.includes(`<a href="${href}" rel="noopener noreferrer">${label}</a>`), label);
  });
  it('lets nothing but hex colours into the style element, and no other link scheme into the footer', () => {
    const doc = layout({
      title: 't',
      nonce: NONCE,
      body: html`<p>hi</p>`,
      brand: {
        name: 'X',
        primaryColor: 'red;}</style><script>alert(1)</script>',
        primaryTextColor: '#ffffff',
        privacyUrl: 'javascript:alert(1)',
        termsUrl: 'data:text/html,x',
      },
    });
    assert.ok(!doc.includes('@media not all and (prefers-color-scheme: dark)'));
    assert.ok(!doc.includes('<script>'));
    assert.ok(!doc.includes('javascript:'));
    assert.ok(!doc.includes('<footer'));
    // Without a brand: Tessera's own name and mark, no footer.
    const plain = layout({ title: 't', nonce: NONCE, body: html`<p>hi</p>` });
    assert.ok(plain.includes('<span class="brand-mark" aria-hidden="true"></span><span>Tessera</span>'));
    assert.ok(!plain.includes('<footer'));
  });
});

// ---- pages ----

describe('loginPage', () => {
  const base = { nonce: NONCE, action: '/interaction/abc/login', csrf: 'csrf-123', clientName: 'Acme' };

  it('renders the sign-in form', () => {
    const doc = loginPage(base);
    assertDocument(doc);
    assertLabelledInputs(doc);
    assert.match(doc, /<h1>Sign in<\/h1>/);
    assert.ok(doc.includes('to continue to <strong>Acme</strong>'));
    const [form] = forms(doc);
    assert.equal(form!.attrs.method, 'post');
    assert.equal(form!.attrs.action, '/interaction/abc/login');
    assert.deepEqual(hiddenFields(form!.inner), [['csrf', 'csrf-123']]);
    const inputs = tags(doc, 'input');
    const user = inputs.find((i) => i.attrs.name === 'username')!;
    const pass = inputs.find((i) => i.attrs.name === 'password')!;
    assert.equal(user.attrs.autocomplete, 'username');
    assert.equal(user.attrs.value, '');
    assert.equal(pass.attrs.type, 'password');
    assert.equal(pass.attrs.autocomplete, 'current-password');
    assert.ok(!('value' in pass.attrs), 'password is never echoed');
    assert.ok(!doc.includes('role="alert"'), 'no alert without an error');
    assert.ok('autofocus' in user.attrs);
  });

  it('shows the error in an alert and keeps the username', () => {
    const doc = loginPage({ ...base, username: 'alice', error: msg('interaction.error.invalidLogin') });
    assert.match(doc, /<div class="alert" role="alert" id="login-error">Invalid username or password\.<\/div>/);
    const inputs = tags(doc, 'input');
    const user = inputs.find((i) => i.attrs.name === 'username')!;
    const pass = inputs.find((i) => i.attrs.name === 'password')!;
    assert.equal(user.attrs.value, 'alice');
    assert.equal(user.attrs['aria-invalid'], 'true');
    assert.equal(pass.attrs['aria-describedby'], 'login-error');
    assert.ok('autofocus' in pass.attrs && !('autofocus' in user.attrs));
  });

  it("a passkey's error is in the alert, the unused username and password fields are not marked invalid", () => {
    const doc = loginPage({ ...base, error: msg('interaction.error.passkeyLogin'), passkeyError: true });
    assert.match(
      doc,
      /<div class="alert" role="alert" id="login-error">The passkey could not be used to sign you in\./,
    );
    for (const input of tags(doc, 'input').filter((i) => ['username', 'password'].includes(i.attrs.name!))) {
      assert.ok(!('aria-invalid' in input.attrs) && !('aria-describedby' in input.attrs), input.attrs.name);
    }
  });

  it('escapes every interpolated value', () => {
    const doc = loginPage({
      nonce: NONCE,
      action: HOSTILE,
      csrf: HOSTILE,
      clientName: HOSTILE,
      username: HOSTILE,
      error: msg('interaction.error.upstreamUnreachable', { provider: HOSTILE }),
    });
    assertDocument(doc);
    assertEscaped(doc);
    const [form] = forms(doc);
    assert.equal(form!.attrs.action, HOSTILE);
    assert.deepEqual(hiddenFields(form!.inner), [['csrf', HOSTILE]]);
    assert.equal(tags(doc, 'input').find((i) => i.attrs.name === 'username')!.attrs.value, HOSTILE);
  });
});

describe('consentPage', () => {
  const base = {
    nonce: NONCE,
    action: '/interaction/abc/consent',
    csrf: 'csrf-456',
    clientName: 'Acme Photos',
    username: 'alice',
    scopes: [
      { name: 'openid', description: { operator: { en: 'Confirm your identity' } } },
      { name: 'photos.read', description: { operator: { en: 'Read your photos' } } },
    ],
  };

  it('renders the client, account, scopes and one form with Allow/Deny', () => {
    const doc = consentPage(base);
    assertDocument(doc);
    assertLabelledInputs(doc);
    assert.ok(doc.includes('<strong>Acme Photos</strong>'));
    assert.ok(doc.includes('<strong>alice</strong>'));
    for (const s of base.scopes) {
      assert.ok(doc.includes(s.description.operator.en));
      assert.ok(doc.includes(`<code class="scope-name small">${s.name}</code>`));
    }
    assert.ok(!doc.includes('Access is for the API'));
    const fs = forms(doc);
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.attrs.method, 'post');
    assert.equal(fs[0]!.attrs.action, '/interaction/abc/consent');
    assert.deepEqual(hiddenFields(fs[0]!.inner), [['csrf', 'csrf-456']]);
    const buttons = tags(fs[0]!.inner, 'button');
    assert.deepEqual(buttons.map((b) => [b.attrs.type, b.attrs.name, b.attrs.value]).sort(), [
      ['submit', 'decision', 'allow'],
      ['submit', 'decision', 'deny'],
    ]);
    assert.match(doc, /<button [^>]*name="decision" value="allow">Allow<\/button>/);
    assert.match(doc, /<button [^>]*name="decision" value="deny">Deny<\/button>/);
  });

  it("shows the client's logo, its name linking to its home page, and its policies (RFC 7591 section 2)", () => {
    const doc = consentPage({
      ...base,
      clientLogo: 'https://id.example/clients/acme/logo',
      clientUri: 'https://acme.example/',
      policyUri: 'https://acme.example/privacy',
      tosUri: 'https://acme.example/terms',
    });
    assertDocument(doc, { links: true, images: true });
    assert.match(doc, /<img class="client-logo" src="https:\/\/id.example\/clients\/acme\/logo" alt=""/);
    assert.ok(
      doc.includes('<a href="https://acme.example/" rel="noopener noreferrer"><strong>Acme Photos</strong></a>'),
    );
    assert.ok(doc.includes('<a href="https://acme.example/privacy" rel="noopener noreferrer">privacy policy</a>'));
    assert.ok(doc.includes('<a href="https://acme.example/terms" rel="noopener noreferrer">terms of service</a>'));
    // Without them: no image, no links; a stored URL of another scheme is never a link.
    const plain = consentPage({ ...base, clientUri: 'javascript:alert(1)', policyUri: 'data:text/html,x' });
    assert.ok(!plain.includes('<img'));
    assert.ok(!plain.includes('javascript:'));
    assert.ok(!plain.includes('data:text'));
    assert.ok(plain.includes('<strong>Acme Photos</strong>'));
  });

  it('shows the resource when given, by its name or else in words with its host', () => {
    const doc = consentPage({ ...base, resources: [{ uri: 'https://api.example.com/' }] });
    assertDocument(doc);
    assert.ok(doc.includes('This access can be used only with:'));
    assert.ok(
      doc.includes(
        '<span class="resource-name">The service at api.example.com</span><code class="resource-uri small">https://api.example.com/</code>',
      ),
    );
    const named = consentPage({ ...base, resources: [{ uri: 'https://api.example.com/', name: 'Orders API' }] });
    assert.ok(named.includes('<span class="resource-name">Orders API</span>'));
    assert.ok(!consentPage(base).includes('class="resources"'));
  });

  it('lists the claims asked for by name beyond the scopes, escaped', () => {
    const doc = consentPage({ ...base, claims: ['email', HOSTILE] });
    assertDocument(doc);
    assert.ok(doc.includes('It also asks to see:'));
    assert.ok(doc.includes('<code class="scope-name">email</code>'));
    assert.ok(!doc.includes(XSS));
    assert.ok(!consentPage(base).includes('It also asks to see'));
  });

  it('lists several resources (RFC 8707), each escaped', () => {
    const doc = consentPage({
      ...base,
      resources: [{ uri: 'https://a.example/' }, { uri: 'https://b.example/?x=<1>' }],
    });
    assert.ok(doc.includes('This access can be used only with these services:'));
    assert.ok(doc.includes('<code class="resource-uri small">https://a.example/</code>'));
    assert.ok(
      doc.includes(
        '<span class="resource-name">The service at b.example</span><code class="resource-uri small">https://b.example/?x=&lt;1&gt;</code>',
      ),
    );
  });

  it('warns that a self-registered client is unverified, with where the answer goes or that it goes to the device', () => {
    const web = consentPage({ ...base, unverified: { host: 'rp.example' } });
    assertDocument(web);
    assert.match(
      web,
      /registered itself with Tessera: its name has not been checked by anyone\. If you continue, you will be sent to <strong>rp\.example<\/strong>/,
    );
    const device = consentPage({ ...base, userCode: 'BCDF-GHJK', unverified: {} });
    assert.match(device, /registered itself with Tessera/);
    assert.match(device, /Access would go to the device that showed you the code/);
    assert.ok(!consentPage(base).includes('registered itself'));
  });

  it('a Client ID Metadata Document client: its client_id host and redirect host, a first-visit note, the local-app warning', () => {
    const d = { clientIdHost: 'agent.example.com', redirectHost: '127.0.0.1:33418', firstTime: true, localOnly: true };
    const doc = consentPage({ ...base, unverified: { host: '127.0.0.1:33418' }, clientIdDocument: d });
    assertDocument(doc);
    assert.match(doc, /identified by <strong>agent\.example\.com<\/strong>/);
    assert.match(doc, /you will be sent to <strong>127\.0\.0\.1:33418<\/strong>/);
    assert.match(doc, /You have not allowed this application before/);
    assert.match(doc, /Any program on your device could claim to be it/);
    assert.ok(!doc.includes('registered itself'), 'its note replaces the self-registered one');
    assert.ok(doc.includes('role="note"'));
    const known = consentPage({ ...base, clientIdDocument: { ...d, firstTime: false, localOnly: false } });
    assert.ok(!known.includes('You have not allowed this application before'));
    assert.ok(!known.includes('Any program on your device'));
    const hostile = consentPage({ ...base, clientIdDocument: { ...d, clientIdHost: HOSTILE, redirectHost: HOSTILE } });
    assert.ok(!hostile.includes(XSS));
  });

  it('the signed-out page frames front-channel logout URLs (escaped) and links to where it goes next', () => {
    const doc = loggedOutPage({
      nonce: 'n',
      frames: ['https://rp.example/fc?iss=x&sid="s"'],
      continueTo: 'https://rp.example/bye?state=a&b',
    });
    assert.ok(doc.includes('<iframe class="logout-frame" src="https://rp.example/fc?iss=x&amp;sid=&quot;s&quot;"'));
    assert.ok(doc.includes('<a href="https://rp.example/bye?state=a&amp;b">'));
    assert.ok(doc.includes('content="2;url=https://rp.example/bye?state=a&amp;b"'));
    assert.ok(!loggedOutPage({ nonce: 'n' }).includes('<iframe'));
  });

  it('handles an empty scope list', () => {
    const doc = consentPage({ ...base, scopes: [] });
    assertDocument(doc);
    assert.ok(doc.includes('No specific permissions'));
  });

  it('lists authorization details (RFC 9396) field by field', () => {
    const doc = consentPage({
      ...base,
      authorizationDetails: [
        {
          type: 'payment_initiation',
          fields: [
            { name: 'creditorName', value: 'Merchant A' },
            { name: 'actions', value: 'initiate' },
          ],
        },
      ],
    });
    assertDocument(doc);
    assert.ok(
      doc.includes(
        '<code class="detail-type">payment_initiation</code><dl><dt>creditorName</dt><dd>Merchant A</dd><dt>actions</dt><dd>initiate</dd></dl>',
      ),
    );
    assert.ok(!consentPage(base).includes('<ul class="authorization-details"'));
  });

  it('escapes every interpolated value', () => {
    const doc = consentPage({
      nonce: NONCE,
      action: HOSTILE,
      csrf: HOSTILE,
      clientName: HOSTILE,
      username: HOSTILE,
      scopes: [{ name: HOSTILE, description: { operator: { en: HOSTILE } } }],
      resources: [{ uri: HOSTILE, name: HOSTILE }, { uri: HOSTILE }],
      unverified: { host: HOSTILE },
      authorizationDetails: [{ type: HOSTILE, fields: [{ name: HOSTILE, value: HOSTILE }] }],
    });
    assertDocument(doc);
    assertEscaped(doc);
    const [form] = forms(doc);
    assert.equal(form!.attrs.action, HOSTILE);
    assert.deepEqual(hiddenFields(form!.inner), [['csrf', HOSTILE]]);
  });
});

describe('consentPage for a device', () => {
  it('shows the user code to compare and warns about codes from someone else', () => {
    const doc = consentPage({
      nonce: NONCE,
      action: '/interaction/abc/consent',
      csrf: 'c',
      clientName: 'TV',
      username: 'alice',
      scopes: [],
      userCode: 'BCDF-GHJK',
    });
    assertDocument(doc);
    assert.ok(doc.includes('<strong>BCDF-GHJK</strong>'));
    assert.match(doc, /Check that this code is the one shown on your device/);
    assert.match(doc, /select Deny/);
    assert.ok(
      !consentPage({ nonce: NONCE, action: '/a', csrf: 'c', clientName: 'TV', username: 'alice', scopes: [] }).includes(
        'shown on your device',
      ),
    );
  });
  it('escapes the user code', () => {
    const doc = consentPage({
      nonce: NONCE,
      action: '/a',
      csrf: 'c',
      clientName: 'TV',
      username: 'alice',
      scopes: [],
      userCode: HOSTILE,
    });
    assertEscaped(doc);
  });
});

describe('deviceEntryPage', () => {
  const base = { nonce: NONCE, action: '/device', csrf: 'csrf-789' };
  it('renders a labelled code field and one form with the CSRF token', () => {
    const doc = deviceEntryPage(base);
    assertDocument(doc);
    assertLabelledInputs(doc);
    const fs = forms(doc);
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.attrs.method, 'post');
    assert.equal(fs[0]!.attrs.action, '/device');
    assert.deepEqual(hiddenFields(fs[0]!.inner), [['csrf', 'csrf-789']]);
    const input = tags(doc, 'input').find((t) => t.attrs.name === 'user_code')!;
    assert.equal(input.attrs.value, '');
    assert.ok(!doc.includes('role="alert"'));
  });
  it('prefills the code and shows an error tied to the field', () => {
    const doc = deviceEntryPage({ ...base, userCode: 'BCDF-GHJK', error: msg('interaction.error.deviceCode') });
    assert.equal(tags(doc, 'input').find((t) => t.attrs.name === 'user_code')!.attrs.value, 'BCDF-GHJK');
    assert.match(doc, /<div class="alert" role="alert" id="code-error">That code is not valid or has expired\./);
    assert.match(doc, /aria-describedby="code-error"/);
  });
  it('escapes every interpolated value', () => {
    const error = msg('interaction.error.upstreamUnreachable', { provider: HOSTILE });
    const doc = deviceEntryPage({ nonce: NONCE, action: HOSTILE, csrf: HOSTILE, userCode: HOSTILE, error });
    assertDocument(doc);
    assertEscaped(doc);
  });
});

describe('deviceDonePage', () => {
  it('tells the user to return to the device, or that access was denied; no forms', () => {
    const ok = deviceDonePage({ nonce: NONCE, approved: true, clientName: 'TV' });
    assertDocument(ok);
    assert.match(ok, /<h1>You may return to your device<\/h1>/);
    assert.equal(forms(ok).length, 0);
    const no = deviceDonePage({ nonce: NONCE, approved: false, clientName: 'TV' });
    assert.match(no, /<h1>Access denied<\/h1>/);
  });
  it('escapes the client name', () => {
    assertEscaped(deviceDonePage({ nonce: NONCE, approved: true, clientName: HOSTILE }));
    assertEscaped(deviceDonePage({ nonce: NONCE, approved: false, clientName: HOSTILE }));
  });
});

describe('errorPage', () => {
  it('renders title and message without links or forms', () => {
    const doc = errorPage({
      nonce: NONCE,
      title: msg('interaction.problem.clientGone.title'),
      message: msg('interaction.problem.clientGone.message'),
    });
    assertDocument(doc);
    assert.match(doc, /<h1>Unknown application<\/h1>/);
    assert.ok(!doc.includes('error-detail'), 'no technical detail without one');
    assert.ok(doc.includes('role="alert">The application is no longer registered.</div>'));
    assert.equal(tags(doc, 'a').length, 0, 'no links back to the client');
    assert.equal(forms(doc).length, 0);
  });

  it('escapes every interpolated value', () => {
    const doc = errorPage({
      nonce: NONCE,
      title: msg('interaction.problem.accessDenied.title'),
      message: msg('interaction.problem.accessDenied.message', { client: HOSTILE }),
      detail: HOSTILE,
    });
    assertDocument(doc);
    assertEscaped(doc);
  });
});

describe('logoutConfirmPage', () => {
  const base = {
    nonce: NONCE,
    action: '/logout',
    csrf: 'csrf-789',
    hidden: { client_id: 'acme', post_logout_redirect_uri: 'https://acme.example/bye?x=1&y=2', state: 's1' },
  };

  it('renders a confirmation form with hidden fields, csrf and confirm=yes', () => {
    const doc = logoutConfirmPage({ ...base, clientName: 'Acme' });
    assertDocument(doc);
    assertLabelledInputs(doc);
    assert.match(doc, /<h1>Sign out of Tessera\?<\/h1>/);
    assert.ok(doc.includes('<strong>Acme</strong>'));
    const fs = forms(doc);
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.attrs.method, 'post');
    assert.equal(fs[0]!.attrs.action, '/logout');
    assert.deepEqual(Object.fromEntries(hiddenFields(fs[0]!.inner)), {
      ...base.hidden,
      csrf: 'csrf-789',
      confirm: 'yes',
    });
    assert.match(fs[0]!.inner, /<button type="submit">Sign out<\/button>/);
  });

  it('works without a client name', () => {
    const doc = logoutConfirmPage(base);
    assertDocument(doc);
    assert.ok(doc.includes('A request was made to sign you out'));
  });

  it('does not let hidden fields duplicate csrf or confirm', () => {
    const doc = logoutConfirmPage({ ...base, hidden: { csrf: 'evil', confirm: 'no', state: 'x' } });
    const fields = hiddenFields(forms(doc)[0]!.inner);
    assert.deepEqual(
      fields.filter(([n]) => n === 'csrf'),
      [['csrf', 'csrf-789']],
    );
    assert.deepEqual(
      fields.filter(([n]) => n === 'confirm'),
      [['confirm', 'yes']],
    );
  });

  it('escapes every interpolated value, including hidden field names', () => {
    const doc = logoutConfirmPage({
      nonce: NONCE,
      action: HOSTILE,
      csrf: HOSTILE,
      clientName: HOSTILE,
      hidden: { [HOSTILE]: HOSTILE },
    });
    assertDocument(doc);
    assertEscaped(doc);
    const [form] = forms(doc);
    assert.equal(form!.attrs.action, HOSTILE);
    assert.deepEqual(hiddenFields(form!.inner), [
      [HOSTILE, HOSTILE],
      ['csrf', HOSTILE],
      ['confirm', 'yes'],
    ]);
  });
});

describe('loggedOutPage', () => {
  it('renders the signed-out message', () => {
    const doc = loggedOutPage({ nonce: NONCE });
    assertDocument(doc);
    assert.match(doc, /<h1>You are signed out\.<\/h1>/);
    assert.equal(forms(doc).length, 0);
  });
});

describe('formPostPage', () => {
  const fields = { code: 'abc123', state: 'xyz&z=1', iss: 'https://tessera.example' };

  it("renders an auto-submitting form with every field and a nonce'd script", () => {
    const doc = formPostPage({ nonce: NONCE, action: 'https://client.example/cb', fields });
    assertDocument(doc, { script: true });
    const fs = forms(doc);
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.attrs.method, 'post');
    assert.equal(fs[0]!.attrs.action, 'https://client.example/cb');
    assert.deepEqual(hiddenFields(fs[0]!.inner), Object.entries(fields));
    assert.ok(doc.includes(`<script nonce="${NONCE}">document.forms[0].submit()</script>`));
    assert.match(fs[0]!.inner, /<noscript>[\s\S]*<button type="submit">Continue<\/button>[\s\S]*<\/noscript>/);
  });

  it('escapes every interpolated value', () => {
    const doc = formPostPage({ nonce: NONCE, action: HOSTILE, fields: { [HOSTILE]: HOSTILE, state: ATTR } });
    assertDocument(doc, { script: true });
    assertEscaped(doc);
    const [form] = forms(doc);
    assert.equal(form!.attrs.action, HOSTILE);
    assert.deepEqual(hiddenFields(form!.inner), [
      [HOSTILE, HOSTILE],
      ['state', ATTR],
    ]);
  });
});

describe('the unverified-application warning on every page that names a self-registered client', () => {
  it('login, sign-up and account chooser pages carry it when asked, escaped, and not otherwise', () => {
    const u = { host: HOSTILE };
    const pages = [
      [
        loginPage({ nonce: NONCE, action: '/a', csrf: 'c', clientName: 'App', unverified: u }),
        loginPage({ nonce: NONCE, action: '/a', csrf: 'c', clientName: 'App' }),
      ],
      [
        signupPage({
          nonce: NONCE,
          action: '/a',
          csrf: 'c',
          clientName: 'App',
          emailRequired: false,
          values: { username: '', email: '', name: '' },
          errors: {},
          unverified: u,
        }),
        signupPage({
          nonce: NONCE,
          action: '/a',
          csrf: 'c',
          clientName: 'App',
          emailRequired: false,
          values: { username: '', email: '', name: '' },
          errors: {},
        }),
      ],
      [
        selectAccountPage({
          nonce: NONCE,
          action: '/a',
          csrf: 'c',
          clientName: 'App',
          username: 'alice',
          unverified: u,
        }),
        selectAccountPage({ nonce: NONCE, action: '/a', csrf: 'c', clientName: 'App', username: 'alice' }),
      ],
    ];
    for (const [warned, plain] of pages) {
      assertDocument(warned!);
      assertEscaped(warned!);
      assert.match(
        warned!,
        /<div class="alert unverified" role="note"><p>This application registered itself with Tessera/,
      );
      assert.ok(!plain!.includes('registered itself'));
    }
  });

  it('a Client ID Metadata Document client is named by the host that publishes it, not as self-registered', () => {
    const page = loginPage({
      nonce: NONCE,
      action: '/a',
      csrf: 'c',
      clientName: 'App',
      unverified: { host: '127.0.0.1:33418', documentHost: HOSTILE },
    });
    assertDocument(page);
    assertEscaped(page);
    assert.match(page, /This application is identified by <strong>[^<]*<\/strong>, which publishes its details/);
    assert.match(page, /you will be sent to <strong>127\.0\.0\.1:33418<\/strong>/);
    assert.ok(!page.includes('registered itself'));
  });
});

describe('selectAccountPage', () => {
  it('offers to continue as the signed-in user or use another account, in one CSRF-protected form, escaped', () => {
    const doc = selectAccountPage({
      nonce: NONCE,
      action: '/interaction/abc/select',
      csrf: 'csrf-789',
      clientName: HOSTILE,
      username: HOSTILE,
    });
    assertDocument(doc);
    assert.ok(!doc.includes(XSS) && !doc.includes(ATTR));
    const fs = forms(doc);
    assert.equal(fs.length, 1);
    assert.equal(fs[0]!.attrs.action, '/interaction/abc/select');
    assert.deepEqual(hiddenFields(fs[0]!.inner), [['csrf', 'csrf-789']]);
    assert.deepEqual(
      tags(fs[0]!.inner, 'button')
        .map((b) => b.attrs.value)
        .sort(),
      ['continue', 'switch'],
    );
    assert.match(
      selectAccountPage({ nonce: NONCE, action: '/a', csrf: 'c', clientName: 'App', username: 'alice' }),
      />Continue as alice<\/button>/,
    );
  });
});

describe('signupPage', () => {
  const base = {
    nonce: NONCE,
    action: '/interaction/abc/signup',
    csrf: 'csrf-123',
    clientName: 'Acme',
    emailRequired: false,
    values: { username: '', email: '', name: '' },
    errors: {},
  };

  it('renders the sign-up form: labelled fields, one CSRF form, new-password autocomplete', () => {
    const doc = signupPage(base);
    assertDocument(doc);
    assertLabelledInputs(doc);
    assert.match(doc, /<h1>Create an account<\/h1>/);
    const all = forms(doc);
    assert.equal(all.length, 1);
    assert.equal(all[0]!.attrs.action, '/interaction/abc/signup');
    assert.equal(all[0]!.attrs.method, 'post');
    assert.deepEqual(hiddenFields(all[0]!.inner), [['csrf', 'csrf-123']]);
    const inputs = Object.fromEntries(tags(doc, 'input').map((i) => [i.attrs.name, i.attrs]));
    assert.deepEqual(Object.keys(inputs), ['csrf', 'username', 'email', 'name', 'password', 'confirm']);
    assert.equal(inputs.password!.autocomplete, 'new-password');
    assert.equal(inputs.confirm!.autocomplete, 'new-password');
    assert.equal(inputs.email!.type, 'email');
    assert.ok(!('required' in inputs.email!), 'email optional by default');
    assert.ok('required' in inputs.username! && 'required' in inputs.password!);
    assert.ok('autofocus' in inputs.username!);
    assert.ok(doc.includes('(optional)'));
    assert.ok(!doc.includes('role="alert"'));
  });

  it('email can be required; the sign-in link only when given', () => {
    const doc = signupPage({ ...base, emailRequired: true, loginUrl: '/interaction/abc' });
    assertDocument(doc, { links: true });
    assert.ok('required' in tags(doc, 'input').find((i) => i.attrs.name === 'email')!.attrs);
    assert.deepEqual(
      tags(doc, 'a').map((a) => a.attrs.href),
      ['/interaction/abc'],
    );
    assert.equal(tags(signupPage(base), 'a').length, 0);
  });

  it('marks each field in error, focuses the first, and never echoes passwords', () => {
    const doc = signupPage({
      ...base,
      values: { username: 'bob', email: 'b@example.com', name: 'Bob' },
      error: msg('interaction.error.signupFailed'),
      errors: { email: msg('interaction.error.emailShape'), confirm: msg('interaction.error.passwordsMismatch') },
    });
    const inputs = Object.fromEntries(tags(doc, 'input').map((i) => [i.attrs.name, i.attrs]));
    assert.equal(inputs.username!.value, 'bob');
    assert.equal(inputs.email!['aria-invalid'], 'true');
    assert.equal(inputs.email!['aria-describedby'], 'email-error');
    assert.ok('autofocus' in inputs.email! && !('autofocus' in inputs.username!));
    assert.equal(inputs.confirm!['aria-invalid'], 'true');
    assert.ok(!('aria-invalid' in inputs.username!));
    assert.ok(!('value' in inputs.password!) && !('value' in inputs.confirm!));
    assert.match(doc, /id="email-error">Enter a valid email address, like name@example\.com\.</);
    assert.match(doc, /role="alert">Your account was not created\. Check the fields marked below\.</);
  });

  it('escapes every interpolated value', () => {
    const doc = signupPage({
      nonce: NONCE,
      action: HOSTILE,
      csrf: HOSTILE,
      clientName: HOSTILE,
      emailRequired: false,
      loginUrl: HOSTILE,
      error: msg('interaction.error.signupFailed'),
      values: { username: HOSTILE, email: HOSTILE, name: HOSTILE },
      errors: {
        username: msg('interaction.error.nameTooLong', { max: HOSTILE }),
        password: msg('interaction.error.choosePassword'),
      },
    });
    assertDocument(doc, { links: true });
    assertEscaped(doc);
    assert.equal(forms(doc)[0]!.attrs.action, HOSTILE);
    assert.equal(tags(doc, 'input').find((i) => i.attrs.name === 'name')!.attrs.value, HOSTILE);
  });
});

describe('loginPage with self-registration', () => {
  it('links to the sign-up page', () => {
    const doc = loginPage({
      nonce: NONCE,
      action: '/interaction/abc/login',
      csrf: 'c',
      clientName: 'Acme',
      signupUrl: '/interaction/abc/signup',
    });
    assertDocument(doc, { links: true });
    const [a] = tags(doc, 'a');
    assert.equal(a!.attrs.href, '/interaction/abc/signup');
    assert.match(doc, />Create an account<\/a>/);
    assert.equal(forms(doc).length, 1);
  });
});
