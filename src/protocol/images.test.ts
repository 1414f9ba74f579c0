import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sniffImage } from './images.ts';

const bytes = (...b: number[]) => Uint8Array.from(b);
const text = (s: string) => new TextEncoder().encode(s);

describe('sniffImage', () => {
  it('recognises PNG, JPEG, GIF and WebP by their first bytes', () => {
    assert.equal(sniffImage(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0)), 'image/png');
    assert.equal(sniffImage(bytes(0xff, 0xd8, 0xff, 0xe0)), 'image/jpeg');
    assert.equal(sniffImage(text('GIF89a....')), 'image/gif');
    assert.equal(sniffImage(text('GIF87a....')), 'image/gif');
    assert.equal(sniffImage(text('RIFF\x10\0\0\0WEBPVP8 ')), 'image/webp');
  });
  it('refuses SVG, HTML, other RIFF files, truncated signatures and empty input', () => {
    for (const s of [
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<?xml version="1.0"?><svg/>',
      '<!doctype html><script>alert(1)</script>',
      'RIFF\x10\0\0\0WAVEfmt ',
      'GIF88a',
      '',
    ])
      assert.equal(sniffImage(text(s)), undefined, s);
    assert.equal(sniffImage(bytes(0x89, 0x50, 0x4e, 0x47)), undefined);
    assert.equal(sniffImage(bytes(0xff, 0xd8)), undefined);
  });
});
