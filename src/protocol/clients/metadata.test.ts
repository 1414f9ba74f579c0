import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../config/config.ts';
import { buildClient, ClientMetadataError, displayTextProblem } from './metadata.ts';
import { documentClient, MetadataDocumentError } from './metadata-document.ts';

// Names that would look like another one, or hide text, once rendered.
const INVISIBLE: [string, string][] = [
  ['zero-width space', 'Cla\u200Bude'],
  ['zero-width joiner between Latin letters', 'Cla\u200Dude'],
  ['zero-width non-joiner between Latin letters', 'Cla\u200Cude'],
  ['word joiner', 'Cla\u2060ude'],
  ['BOM', '\uFEFFClaude'],
  ['soft hyphen', 'Cla\u00ADude'],
  ['Braille blank', 'Claude\u2800\u2800\u2800\u2800(verified by your administrator)'],
  ['Hangul filler', 'Claude\u3164'],
  ['Hangul choseong filler', '\u115FClaude'],
  ['Hangul jungseong filler', 'Claude\u1160'],
  ['halfwidth Hangul filler', 'Claude\uFFA0'],
  ['tag characters', 'Claude\u{E0041}\u{E0042}'],
  ['a variation selector after a space', 'Claude \uFE0F'],
  ['a variation selector at the start', '\uFE0EClaude'],
  ['two variation selectors on one character', 'Claude\uFE0E\uFE0E'],
  ['an ideographic variation selector after a Latin letter', 'Claude\u{E0100}'],
  ['a Mongolian variation selector after a Latin letter', 'Cla\u180Bude'],
  ['an enclosing circle', 'G\u20DDoogle'],
  ['the Cyrillic millions sign (enclosing)', 'Go\u0489ogle'],
  ['a Vedic overlay', 'Goo\u1CD4gle'],
  ['every other enclosing mark', 'Goo\u20DFgle'],
  ['a joiner between an Arabic and a Latin letter', '\u0628\u200Cabc'],
  ['a joiner between Khmer and Latin letters', '\u1780\u200Dabc'],
  ['a joiner after a space', 'Claude \u200D\u0915'],
  ['combining long stroke overlay', 'G\u0336o\u0336o\u0336gle'],
  ['combining short solidus overlay', 'Goo\u0337gle'],
  ['combining enclosing circle backslash', 'Goo\u20E5gle'],
  ['interlinear annotation', 'Claude\uFFF9x\uFFFB'],
  ['Mongolian vowel separator', 'Cla\u180Eude'],
  // Decision: the soft hyphen shows nothing unless the line breaks there; names do not need it.
  ['soft hyphen in a compound', 'Donau\u00ADdampf'],
];

// Blanks that HTML does not collapse: a run of them pushes the rest of the name out of sight.
const BLANKS: [string, string][] = [
  ['ideographic spaces', `Claude Desktop${'\u3000'.repeat(150)}(attacker)`],
  ['em spaces', `Claude Desktop${'\u2003'.repeat(150)}x`],
  ['no-break spaces', `Claude${'\u00A0'.repeat(150)}x`],
  ['two ASCII spaces', 'Claude  Desktop'],
  ['a space and a no-break space', 'Claude \u00A0Desktop'],
  ['a space and a thin space', 'Claude \u2009Desktop'],
  ['a leading ideographic space', '\u3000Claude'],
  ['a trailing no-break space', 'Claude\u00A0'],
  ['a trailing ASCII space', 'Claude '],
  ['a leading em space', '\u2003Claude'],
];

describe('client names (displayTextProblem)', () => {
  it('refuses invisible characters and overlays that make a name look like another', () => {
    for (const [what, name] of INVISIBLE)
      assert.match(displayTextProblem('client_name', name) ?? 'accepted', /invisible characters/, what);
  });
  it('refuses runs of blanks of any kind, and blanks at either end', () => {
    for (const [what, name] of BLANKS)
      assert.match(displayTextProblem('client_name', name) ?? 'accepted', /two spaces \(of any kind\)/, what);
  });
  it('refuses piles of combining marks and marks on no character', () => {
    for (const name of [
      `C${'\u0301'.repeat(150)}laude`,
      'Cla\u0301\u0300\u0302\u0303ude', // 4 marks on one letter
      'Claude \u0301Desktop',
      `Claude${' \u0301'.repeat(50)}x`, // blanks kept apart by marks
      '\u0301Claude',
    ])
      assert.match(displayTextProblem('client_name', name) ?? 'accepted', /combining mark/, JSON.stringify(name));
    assert.equal(displayTextProblem('client_name', 'Cla\u0301\u0300\u0302ude'), undefined, '3 marks are fine');
  });
  it('refuses a word mixing Latin with Cyrillic or Greek look-alikes', () => {
    for (const name of [
      '\u0421l\u0430ude', // Сlаude: Cyrillic С and а
      'Go\u043Egle', // Cyrillic о
      'G\u03BFogle', // Greek omicron
      '\u0410\u03B3\u0435\u043D\u0442', // Cyrillic and Greek in one word
      'My \u0421laude Desktop', // one mixed word among plain ones
      '\u0421\u0301laude', // a mark does not split a word
      'Paypa\u04CF', // Cyrillic palochka as l
      '\u0421\u200Alaude', // a hair space does not split a word
      '\u0421\u2009laude', // nor does a thin space
      'Notes\u202F\u0417\u0430\u043C\u0435\u0442\u043A\u0438', // nor a narrow no-break space
    ])
      assert.match(displayTextProblem('client_name', name) ?? 'accepted', /mix Latin, Cyrillic or Greek/, name);
  });
  it('refuses names that are only spaces or marks', () => {
    for (const name of ['\u3000\u3000', '\u0301\u0301', ' \u0300 ', '\u00A0'])
      assert.ok(displayTextProblem('client_name', name), JSON.stringify(name));
  });
  it('still refuses controls, line breaks and bidirectional formatting', () => {
    for (const name of ['a\nb', 'a\u0007b', 'a\u202Eb', 'a\u2066b', 'a\u2028b'])
      assert.ok(displayTextProblem('client_name', name), JSON.stringify(name));
  });
  it('accepts names in other scripts, with accents and emoji', () => {
    for (const name of [
      'Claude',
      'Café Münster — Agent',
      'Tiếng Việt Trợ lý',
      '東京エージェント',
      'ファイル　アシスタント', // an ideographic space between words
      'مساعد الملفات',
      'دستیار\u200Cها', // Persian: the zero-width non-joiner is part of the spelling
      'क्ष\u200Dत्रिय', // Devanagari with a zero-width joiner
      'Ελληνικά Πελάτης',
      'Агент файлов',
      '한국어 도우미',
      'Files 📁 Agent',
      'Family 👨‍👩‍👧 Agent', // a ZWJ sequence
      'Love ❤️', // with variation selector 16
      'Thumbs 👍🏽',
      'Keycap 1️⃣',
      'Flag 🇫🇷 and 🏴󠁧󠁢󠁳󠁣󠁴󠁿', // the Scotland flag is a tag sequence
      'x'.repeat(200),
      'Notes \u0417\u0430\u043C\u0435\u0442\u043A\u0438', // words in different scripts: Notes Заметки
      'Agent \u0391\u03B8\u03AE\u03BD\u03B1 Athens', // Latin, Greek, Latin words
      '\u00B5Torrent', // the micro sign is not Greek
      'Caf\u0065\u0301 Tie\u0302\u0301ng', // decomposed accents, 2 on one letter
      'Tshirt T\u30B7\u30E3\u30C4 \u6771\u4EACAPI', // Latin with kana or Han in one word
      'Sync \u2194\uFE0E Drive', // a text-style arrow
      'Check \u2714\uFE0E and \u2714\uFE0F', // text and emoji presentation
      'Tunes\u266A\uFE0E', // a text-style note right after a letter
      '\u1828\u1820\u182F\u180B \u182E\u1823\u1829\u182D\u1823\u182F\u180F', // Mongolian with FVS1, FVS4
      '\u845B\u{E0100}\u98FE\u533A', // 葛󠄀飾区: an ideographic variation sequence
      '\u8FBB\u{E0101} Agent',
      '\u1781\u17D2\u1798\u17C2\u179A\u200D\u1780', // Khmer with a zero-width joiner
      '\u1781\u17D2\u1798\u17C2\u179A\u200C\u1780', // Khmer with a zero-width non-joiner
      '\u1019\u103C\u1014\u103A\u200C\u1019\u102C', // Myanmar with a zero-width non-joiner
      '\u0DC1\u0DCA\u200D\u0DBB\u0DD3', // Sinhala: ශ්‍රී with a zero-width joiner
      '\u0915\u094D\u200D\u0937', // Devanagari: joiner after the virama
      'Keycap 1\uFE0F\u20E3 ok', // the enclosing keycap mark inside an emoji
      'Tab\u00A0Agent', // one no-break space between words
      'Notes\u00A0\u0417\u0430\u043C\u0435\u0442\u043A\u0438', // a no-break space splits words
      'Agent\u202F: fichiers', // French: a narrow no-break space before a colon
      // Myanmar: 3 marks on one letter
      '\u1015\u102D\u102F\u1037\u1006\u1031\u102C\u1004\u103A \u1019\u103C\u103E\u1031\u102C\u1004\u1037\u103A',
      '\u0F56\u0F66\u0F92\u0FB2\u0F74\u0F56\u0F66', // Tibetan stacked consonants: བསྒྲུབས
      '\u05E9\u05BC\u05C1\u05B8\u05DC\u05D5\u05B9\u05DD', // Hebrew with points: 3 marks on shin
    ])
      assert.equal(displayTextProblem('client_name', name), undefined, name);
  });
  it('applies to operator-made, dynamically registered and metadata document clients alike', () => {
    const config = loadConfig({
      TESSERA_ENV: 'development',
      TESSERA_ISSUER: 'http://localhost:4999',
      DATABASE_URL: 'sqlite::memory:',
      TESSERA_CLIENT_ID_METADATA_DOCUMENTS: 'on',
    });
    const input = {
      client_id: 'agent',
      client_name: 'Cla\u200Bude',
      redirect_uris: ['https://agent.example.com/cb'],
    };
    assert.throws(
      () => buildClient(config, input, undefined, 0),
      (e) => e instanceof ClientMetadataError && e.problems.some((p) => /invisible/.test(p)),
    );
    assert.equal(
      buildClient(config, { ...input, client_name: '東京 Agent' }, undefined, 0).client.clientName,
      '東京 Agent',
    );
    const url = 'https://agent.example.com/client.json';
    assert.throws(
      () => documentClient(config, url, { client_id: url, client_name: 'G\u0336oogle', redirect_uris: [] }, 0),
      (e) => e instanceof MetadataDocumentError && /invisible/.test(e.message),
    );
  });
});

describe('the URLs shown on the consent page (logo_uri, client_uri, policy_uri, tos_uri)', () => {
  const config = loadConfig({
    TESSERA_ENV: 'development',
    TESSERA_ISSUER: 'http://localhost:4999',
    DATABASE_URL: 'sqlite::memory:',
  });
  const base = { client_id: 'shop', redirect_uris: ['https://shop.example/cb'] };
  const problems = (extra: Record<string, unknown>): string[] => {
    try {
      buildClient(config, { ...base, ...extra }, undefined, 0);
      return [];
    } catch (e) {
      return (e as ClientMetadataError).problems;
    }
  };
  it('keeps https URLs, and removes one set to null', () => {
    const { client } = buildClient(
      config,
      {
        ...base,
        logo_uri: 'https://cdn.shop.example/logo.png',
        client_uri: 'https://shop.example/',
        policy_uri: 'https://shop.example/privacy',
        tos_uri: 'https://shop.example/terms',
      },
      undefined,
      0,
    );
    assert.equal(client.metadata.logo_uri, 'https://cdn.shop.example/logo.png');
    assert.equal(client.metadata.tos_uri, 'https://shop.example/terms');
    const again = buildClient(config, { ...base, tos_uri: null, client_name: 'Shop' }, client, 0).client;
    assert.equal(again.metadata.tos_uri, undefined);
    assert.equal(again.metadata.policy_uri, 'https://shop.example/privacy');
  });
  it('refuses other schemes, credentials, fragments, private logo hosts and long URLs', () => {
    assert.match(problems({ client_uri: 'javascript:alert(1)' }).join(), /client_uri must use https/);
    assert.match(problems({ policy_uri: 'data:text/html,x' }).join(), /policy_uri must use https/);
    assert.match(problems({ tos_uri: 'https://u:p@shop.example/' }).join(), /credentials/);
    assert.match(problems({ tos_uri: 'https://shop.example/#x' }).join(), /fragment/);
    assert.match(problems({ logo_uri: 'http://shop.example/logo.png' }).join(), /logo_uri must use https/);
    assert.match(problems({ logo_uri: 'https://10.0.0.1/logo.png' }).join(), /logo_uri/);
    assert.match(problems({ logo_uri: 'https://169.254.169.254/logo.png' }).join(), /logo_uri/);
    assert.match(problems({ client_uri: `https://shop.example/${'a'.repeat(2048)}` }).join(), /longer than 2048/);
    assert.match(problems({ client_uri: 42 }).join(), /client_uri must be a string/);
  });
});
