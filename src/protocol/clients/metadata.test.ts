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
  ['a lone variation selector', 'Claude\uFE0F'],
  ['combining long stroke overlay', 'G\u0336o\u0336o\u0336gle'],
  ['combining short solidus overlay', 'Goo\u0337gle'],
  ['combining enclosing circle backslash', 'Goo\u20E5gle'],
  ['interlinear annotation', 'Claude\uFFF9x\uFFFB'],
  ['Mongolian vowel separator', 'Cla\u180Eude'],
];

describe('client names (displayTextProblem)', () => {
  it('refuses invisible characters and overlays that make a name look like another', () => {
    for (const [what, name] of INVISIBLE)
      assert.match(displayTextProblem('client_name', name) ?? 'accepted', /invisible characters/, what);
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
