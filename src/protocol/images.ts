// The images Tessera serves on its pages: the deployment's logo (admin/branding.ts) and clients'
// logos (client-logos.ts). Their type is read from their first bytes, never from what the uploader
// or the remote server declared, and only four raster formats pass: no SVG (a document that can
// carry script and links), no HTML, nothing a browser could sniff into something else.

/** The image types Tessera accepts and serves. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((b, i) => bytes[at + i] === b);

/**
 * The type of an image by its magic bytes: PNG (the 8-byte signature), JPEG (SOI and a marker),
 * GIF (GIF87a, GIF89a) or WebP (a RIFF container of type WEBP); undefined for anything else.
 */
export function sniffImage(bytes: Uint8Array): ImageType | undefined {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) && bytes[5] === 0x61)
    return 'image/gif';
  if (
    startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) &&
    startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8) &&
    bytes.length > 12
  )
    return 'image/webp';
  return undefined;
}

/**
 * The header fields of an image answer: its sniffed type, no sniffing by the browser, a policy that
 * lets the image do nothing (opened on its own it runs no script, loads nothing), its ETag.
 */
export function imageHeaders(type: ImageType, etag: string, maxAgeSeconds: number): Record<string, string> {
  return {
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': `public, max-age=${maxAgeSeconds}`,
    etag,
  };
}
