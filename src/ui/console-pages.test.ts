import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msg } from '../i18n/catalog.ts';
import {
  cellText,
  chartView,
  consoleMessagePage,
  consolePage,
  data,
  labelOf,
  type ConsoleBase,
} from './console-pages.ts';

const base: ConsoleBase = {
  nonce: 'n0nce',
  base: 'https://id.example',
  username: 'owner<1>',
  role: 'owner',
  nav: [
    { id: 'dashboard', title: msg('console.section.dashboard') },
    { id: 'keys', title: msg('console.section.keys') },
  ],
  current: 'keys',
  title: msg('console.section.keys'),
  signOutCsrf: 'tok',
};

/** No inline handlers, no style attributes, every script and style element carries the nonce. */
function assertStrict(page: string): void {
  assert.doesNotMatch(page, /\son[a-z]+\s*=/i);
  assert.doesNotMatch(page, /\sstyle\s*=/i);
  for (const m of page.matchAll(/<(script|style)\b[^>]*>/g)) assert.match(m[0], /nonce="n0nce"/);
  assert.doesNotMatch(page, /javascript:/i);
}

describe('console pages', () => {
  it('a list: escaped values, row links and row buttons with accessible names, the current section marked', () => {
    const page = consolePage({
      ...base,
      page: 'list',
      table: {
        caption: msg('console.section.keys'),
        columns: [
          { key: 'kid', label: msg('console.field.kid') },
          { key: 'created_at', label: msg('console.field.created_at') },
        ],
        rows: [
          {
            cells: ['k"1<script>', 1_700_000_000],
            href: 'https://id.example/admin/keys/k1',
            forms: [
              {
                id: 'keys-retire',
                action: 'https://id.example/admin/do/keys.retire',
                method: 'post',
                submit: data('Retire'),
                label: data('Retire k1'),
                hidden: { kid: 'k1', csrf: 'c' },
                fields: [],
                danger: true,
              },
            ],
          },
        ],
        empty: msg('console.list.empty'),
      },
      forms: [],
      links: [],
    });
    assertStrict(page);
    assert.match(page, /k&quot;1&lt;script&gt;/);
    assert.doesNotMatch(page, /<script>/);
    assert.match(page, /2023-11-14 22:13:20 UTC/);
    assert.match(page, /<button type="submit" class="compact danger" aria-label="Retire k1">Retire<\/button>/);
    assert.match(page, /href="https:\/\/id.example\/admin\/keys" aria-current="page"/);
    assert.match(page, /owner&lt;1&gt;/);
    assert.match(page, /action="https:\/\/id.example\/account\/logout"/);
  });

  it('a form: labels tied to fields, hints and errors described, required marked', () => {
    const page = consolePage({
      ...base,
      page: 'form',
      back: { href: '/admin/keys', text: msg('console.back') },
      form: {
        id: 'keys-rotate',
        action: 'https://id.example/admin/do/keys.rotate',
        method: 'post',
        submit: data('Rotate'),
        hidden: { csrf: 'c' },
        error: data('Refused'),
        fields: [
          {
            name: 'alg',
            label: data('Alg'),
            kind: 'select',
            required: false,
            options: [{ value: 'ES256', label: data('ES256') }],
            value: 'ES256',
          },
          {
            name: 'note',
            label: data('Note'),
            kind: 'text',
            required: true,
            hint: data('Why'),
            error: [data('Too long')],
          },
          {
            name: 'scopes',
            label: data('Scopes'),
            kind: 'checkboxes',
            required: false,
            options: [{ value: 'a', label: data('a') }],
            values: ['a'],
          },
        ],
      },
    });
    assertStrict(page);
    assert.match(page, /<label for="keys-rotate-alg">Alg/);
    assert.match(
      page,
      /<select id="keys-rotate-alg" name="alg"><option value="">\(not set\)<\/option><option value="ES256" selected>/,
    );
    assert.match(
      page,
      /id="keys-rotate-note" name="note" value="" autocomplete="off" required aria-invalid="true" aria-describedby="keys-rotate-note-hint keys-rotate-note-error"/,
    );
    assert.match(
      page,
      /<input type="checkbox" id="keys-rotate-scopes-0" name="scopes" value="a" checked><label for="keys-rotate-scopes-0">a<\/label>/,
    );
    assert.match(page, /role="alert">Refused/);
  });

  it('the chart: an SVG with a title and description, and the same figures as a table', () => {
    const svg = chartView({
      title: msg('console.chart.lastHour'),
      buckets: [1_700_000_000, 1_700_000_060],
      series: [
        { name: 'tokens_issued', label: msg('console.figure.tokens_issued'), values: [3, 5] },
        { name: 'sign_ins_failed', label: msg('console.figure.sign_ins_failed'), values: [0, 1] },
      ],
    }).value;
    assert.match(svg, /<svg class="chart"[^>]*role="img" aria-labelledby="last-1-hour-t last-1-hour-d"/);
    assert.match(svg, /<desc id="last-1-hour-d">Tokens issued: 8 in all; Sign-ins failed: 1 in all<\/desc>/);
    assert.match(svg, /<polyline class="s0" points="40\.0,76\.4 630\.0,10\.0"\/>/);
    assert.match(svg, /<th scope="col">Tokens issued<\/th>/);
    assert.doesNotMatch(svg, /style=/);
  });

  it('values: times, booleans, lists; labels from member names', () => {
    assert.equal(cellText('expires_at', 0), '0');
    assert.equal(cellText('created_at', 1_700_000_000), '2023-11-14 22:13:20 UTC');
    assert.equal(cellText('at', 1_700_000_000_000), '2023-11-14 22:13:20 UTC');
    assert.equal(cellText('disabled', true), 'yes');
    assert.equal(cellText('scopes', ['a', 'b']), 'a, b');
    assert.equal(labelOf('client_id'), 'Client id');
  });

  it('a message page is a plain page of the shared shell', () => {
    const page = consoleMessagePage({
      nonce: 'n0nce',
      title: msg('console.mfa.title'),
      message: msg('console.mfa.none'),
      links: [{ href: '/account/security', text: msg('console.mfa.addLink') }],
    });
    assertStrict(page);
    assert.match(page, /<a href="\/account\/security">Add a second factor<\/a>/);
  });
});
