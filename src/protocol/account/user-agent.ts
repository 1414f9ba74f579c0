// A small reader of User-Agent strings, enough to name a session's browser and system on the
// account page ("Firefox on Android"). Best effort: an unknown string is "Unknown browser".

const BROWSERS: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\/[\d.]+/, 'Edge'],
  [/\bOPR\/[\d.]+|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\/[\d.]+/, 'Samsung Internet'],
  [/\bFirefox\/[\d.]+|\bFxiOS\/[\d.]+/, 'Firefox'],
  [/\bCriOS\/[\d.]+/, 'Chrome'],
  [/\bHeadlessChrome\/[\d.]+/, 'Chrome (headless)'],
  [/\bChrom(?:e|ium)\/[\d.]+/, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\/[\d.]+/, 'Safari'],
  [/\bcurl\/[\d.]+/, 'curl'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\bAndroid\b/, 'Android'],
  [/\biPhone\b|\biPod\b/, 'iOS'],
  [/\biPad\b/, 'iPadOS'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

/**
 * The browser and operating system a User-Agent names, or null for either one it names none we know
 * of (the account page says "unknown" in the page's language).
 */
export function userAgentParts(ua: string | undefined): { browser: string | null; os: string | null } {
  if (!ua) return { browser: null, os: null };
  return {
    browser: BROWSERS.find(([re]) => re.test(ua))?.[1] ?? null,
    os: SYSTEMS.find(([re]) => re.test(ua))?.[1] ?? null,
  };
}

/** The browser and operating system a User-Agent names, as English words (the data export, notifications). */
export function describeUserAgent(ua: string | undefined): { browser: string; os: string } {
  const { browser, os } = userAgentParts(ua);
  return { browser: browser ?? 'Unknown browser', os: os ?? 'unknown system' };
}
