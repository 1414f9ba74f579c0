import { createRequire } from 'node:module';

// Usernames: one canonical form for comparison (RFC 8265 PRECIS UsernameCaseMapped), a confusable
// skeleton for look-alike detection (UTS #39 section 4), and the names outsiders may not take.
//
// The display form a user or operator typed is kept as the username; uniqueness, sign-in and the
// throttling counters use the canonical form, so "Bob", "bob" and "ｂｏｂ" are one account name.

/**
 * RFC 8265 section 3.3 (UsernameCaseMapped) enforcement: width mapping (fullwidth and halfwidth
 * forms to their decompositions), Unicode Default Case Folding, NFC, then the IdentifierClass of
 * RFC 8264 and the Bidi Rule. Returns undefined when the string is not a valid username.
 */
export function canonicalUsername(input: string): string | undefined {
  if (typeof input !== 'string' || input.length === 0 || input.length > 1024) return undefined;
  const widthMapped = input.replace(/[\uFF01-\uFFEE]/g, (c) => c.normalize('NFKC'));
  // The preparation step: the input itself must be of the IdentifierClass (RFC 8265 section 3.3.2),
  // so that no case folding turns a disallowed character (a ligature, KELVIN SIGN) into a valid one.
  if (identifierProblem(widthMapped)) return undefined;
  const canonical = Array.from(widthMapped, foldChar).join('').normalize('NFC');
  if (canonical.length === 0 || identifierProblem(canonical) || !bidiRuleHolds(canonical)) return undefined;
  return canonical;
}

/** Why a string is not a valid username under the PRECIS rules, or undefined. */
export function usernameSyntaxProblem(input: string): string | undefined {
  if (typeof input !== 'string' || input.length === 0) return 'username must not be empty';
  const widthMapped = input.replace(/[\uFF01-\uFFEE]/g, (c) => c.normalize('NFKC'));
  const problem = identifierProblem(widthMapped);
  if (problem) return problem;
  if (canonicalUsername(input) === undefined)
    return 'username mixes right-to-left and left-to-right text in a way the Bidi Rule (RFC 5893) does not allow';
  return undefined;
}

/**
 * Unicode Default Case Folding (full, not Turkic) of one code point. JavaScript has no casefold();
 * lower(upper(lower(c))) equals it for every code point of Unicode 14 except DOTLESS I (folds to
 * itself) and the Cherokee small letters (fold to the capitals): checked against Python's
 * str.casefold() over all code points (src/accounts/usernames.test.ts keeps the listed cases).
 * One code point at a time, so that no context rule (Final_Sigma) applies.
 */
function foldChar(c: string): string {
  if (c === '\u0131') return c;
  const folded = c.toLowerCase().toUpperCase().toLowerCase();
  return folded.replace(/[\uAB70-\uABBF\u13F8-\u13FD]/g, (x) => x.toUpperCase());
}

// RFC 8264 section 9 (the derived property of each code point) for the IdentifierClass.
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const IGNORABLE = /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}]$/u;
const UNASSIGNED = /^\p{Cn}$/u;
// RFC 5892 section 2.6 exceptions.
const EXCEPTION_PVALID = new Set([0x00df, 0x03c2, 0x06fd, 0x06fe, 0x0f0b, 0x3007]);
const EXCEPTION_DISALLOWED = new Set([0x0640, 0x07fa, 0x302e, 0x302f, 0x3031, 0x3032, 0x3033, 0x3034, 0x3035, 0x303b]);
const isOldHangulJamo = (cp: number) =>
  (cp >= 0x1100 && cp <= 0x11ff) || (cp >= 0xa960 && cp <= 0xa97c) || (cp >= 0xd7b0 && cp <= 0xd7fb);
const ARABIC_INDIC = (cp: number) => cp >= 0x0660 && cp <= 0x0669;
const EXT_ARABIC_INDIC = (cp: number) => cp >= 0x06f0 && cp <= 0x06f9;

/** Why `s` is not of the PRECIS IdentifierClass, or undefined. */
function identifierProblem(s: string): string | undefined {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  for (let i = 0; i < cps.length; i++) {
    const cp = cps[i]!;
    const c = String.fromCodePoint(cp);
    const at = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (EXCEPTION_DISALLOWED.has(cp)) return `username contains ${at}, which is not allowed`;
    // CONTEXTO (RFC 5892 appendix A): allowed only in their context.
    if (cp === 0x00b7) {
      if (cps[i - 1] === 0x6c && cps[i + 1] === 0x6c) continue;
      return `username contains MIDDLE DOT (${at}) outside "l·l"`;
    }
    if (cp === 0x0375) {
      if (i + 1 < cps.length && /\p{Script=Greek}/u.test(String.fromCodePoint(cps[i + 1]!))) continue;
      return `username contains GREEK KERAIA (${at}) not before a Greek letter`;
    }
    if (cp === 0x05f3 || cp === 0x05f4) {
      if (i > 0 && /\p{Script=Hebrew}/u.test(String.fromCodePoint(cps[i - 1]!))) continue;
      return `username contains a Hebrew geresh (${at}) not after a Hebrew letter`;
    }
    if (cp === 0x30fb) {
      if (/[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u.test(s.replace(/\u30FB/g, ''))) continue;
      return `username contains KATAKANA MIDDLE DOT (${at}) without Japanese text`;
    }
    if (ARABIC_INDIC(cp) && cps.some(EXT_ARABIC_INDIC))
      return 'username mixes Arabic-Indic and Extended Arabic-Indic digits';
    if (EXT_ARABIC_INDIC(cp) && cps.some(ARABIC_INDIC))
      return 'username mixes Arabic-Indic and Extended Arabic-Indic digits';
    // CONTEXTJ (ZERO WIDTH JOINER / NON-JOINER): refused outright, stricter than RFC 5892, as
    // invisible characters in a username only serve to make two names look alike.
    if (cp === 0x200c || cp === 0x200d) return `username contains an invisible joiner (${at})`;
    if (cp >= 0x21 && cp <= 0x7e) continue; // ASCII7: PVALID
    if (UNASSIGNED.test(c)) return `username contains an unassigned code point (${at})`;
    if (IGNORABLE.test(c) || /^\p{Cc}$/u.test(c)) return `username contains an invisible or control character (${at})`;
    if (isOldHangulJamo(cp)) return `username contains an old Hangul jamo (${at})`;
    if (c.normalize('NFKC') !== c)
      return `username contains ${at}, which has a compatibility equivalent (write it plainly)`;
    if (LETTER_DIGITS.test(c)) continue;
    if (/^\p{Zs}$/u.test(c) || cp === 0x20) return 'username must not contain spaces';
    return `username contains ${at}, a symbol or punctuation character outside ASCII`;
  }
  return undefined;
}

// RFC 5893 section 2 (the Bidi Rule), with the bidirectional class approximated by script, which
// JavaScript regular expressions can test (they have no Bidi_Class): letters of the right-to-left
// scripts are R/AL, Arabic-Indic digits AN, ASCII and Extended Arabic-Indic digits EN, combining
// marks NSM, other letters and digits L, ASCII punctuation ON/ES/CS/ET.
const RTL =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Mende_Kikakui}\p{Script=Imperial_Aramaic}\p{Script=Phoenician}\p{Script=Kharoshthi}\p{Script=Old_South_Arabian}\p{Script=Avestan}\p{Script=Nabataean}\p{Script=Palmyrene}\p{Script=Manichaean}\p{Script=Psalter_Pahlavi}\p{Script=Old_Hungarian}\p{Script=Yezidi}\p{Script=Sogdian}\p{Script=Old_Sogdian}\p{Script=Elymaic}\p{Script=Chorasmian}\p{Script=Old_Uyghur}]/u;
type Bidi = 'R' | 'AN' | 'EN' | 'NSM' | 'L' | 'ON';
function bidiClass(c: string): Bidi {
  const cp = c.codePointAt(0)!;
  if (/^[\p{Mn}\p{Me}]$/u.test(c)) return 'NSM';
  if (ARABIC_INDIC(cp)) return 'AN';
  if ((cp >= 0x30 && cp <= 0x39) || EXT_ARABIC_INDIC(cp)) return 'EN';
  if (RTL.test(c)) return 'R';
  if (/^[\p{L}\p{N}\p{Mc}]$/u.test(c)) return 'L';
  return 'ON';
}

function bidiRuleHolds(s: string): boolean {
  const classes = Array.from(s, bidiClass);
  if (!classes.some((b) => b === 'R' || b === 'AN')) return true; // not a bidi string
  const trimmed = classes.slice(0, classes.length - [...classes].reverse().findIndex((b) => b !== 'NSM'));
  if (classes[0] !== 'R') return false; // a string with right-to-left text starts with a right-to-left letter
  if (classes.includes('L')) return false;
  if (classes.includes('EN') && classes.includes('AN')) return false;
  const last = trimmed[trimmed.length - 1];
  return last === 'R' || last === 'EN' || last === 'AN';
}

/**
 * The confusable skeleton of UTS #39 section 4, then case folded: two usernames with equal
 * skeletons look alike ("paypal", "paypa1", Cyrillic "рауpal"). The mapping is Unicode's whole
 * confusables.txt (version 13.0.0, 6,311 source characters), as the `unhomoglyph` package ships it
 * in data.json (source character -> prototype); only the data is used, the skeleton is computed here.
 */
const CONFUSABLES: ReadonlyMap<string, string> = new Map(
  Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>),
);

/** The look-alike key of a username: skeleton(X) = NFD(map(NFD(X))) of its canonical form, case folded. */
export function usernameSkeleton(username: string): string {
  const base = canonicalUsername(username) ?? username;
  const mapped = Array.from(base.normalize('NFD'), (c) => CONFUSABLES.get(c) ?? c)
    .join('')
    .normalize('NFD');
  return Array.from(mapped, foldChar).join('').normalize('NFC');
}

/** The keys a user store compares usernames by (ports/users.ts, UsernameKeys). */
export const usernameKeys = { canonical: canonicalUsername, skeleton: usernameSkeleton };

/**
 * Names nobody may self-register (nor bring from an upstream sign-in): they read as the service's own staff or
 * addresses.
 */
export const RESERVED_USERNAMES: readonly string[] = [
  'admin',
  'administrator',
  'root',
  'superuser',
  'sysadmin',
  'system',
  'operator',
  'support',
  'security',
  'postmaster',
  'hostmaster',
  'webmaster',
  'abuse',
  'noc',
  'info',
  'help',
  'helpdesk',
  'staff',
  'moderator',
  'owner',
  'billing',
  'tessera',
  'oauth',
  'openid',
  'auth',
  'login',
  'logout',
  'signup',
  'register',
  'account',
  'accounts',
  'api',
  'www',
  'mail',
  'email',
  'noreply',
  'no-reply',
  'null',
  'undefined',
  'anonymous',
  'nobody',
  'everyone',
  'daemon',
];

/**
 * Whether `username` is reserved: one of RESERVED_USERNAMES, the issuer's host, a parent domain of
 * it or its first label; compared by skeleton, so "adm1n" and Cyrillic "аdmin" are reserved too.
 */
export function isReservedUsername(username: string, issuer?: string): boolean {
  const names = [...RESERVED_USERNAMES];
  if (issuer) {
    try {
      const host = new URL(issuer).hostname;
      names.push(host);
      const labels = host.split('.');
      if (!/^[\d.]+$|:/.test(host)) {
        for (let i = 1; i < labels.length - 1; i++) names.push(labels.slice(i).join('.'));
        if (labels.length > 1) names.push(labels[0]!);
      }
    } catch {
      /* not a URL: nothing more to reserve */
    }
  }
  const key = usernameSkeleton(username);
  return names.some((n) => usernameSkeleton(n) === key);
}
