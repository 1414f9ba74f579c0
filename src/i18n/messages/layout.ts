// The words of the pages' shared layout (ui/html.ts): the window's title, the footer's links. English is the source;
// the other languages must have every key (the type says so), with the same {placeholders}.

export const en = {
  'layout.title': '{page} · {brand}',
  'layout.footer': 'Links',
  'layout.privacy': 'Privacy',
  'layout.terms': 'Terms',
  'layout.support': 'Help',
  'layout.languages': 'Languages',
} as const;

export const de: Record<keyof typeof en, string> = {
  'layout.title': '{page} · {brand}',
  'layout.footer': 'Links',
  'layout.privacy': 'Datenschutz',
  'layout.terms': 'Nutzungsbedingungen',
  'layout.support': 'Hilfe',
  'layout.languages': 'Sprachen',
};

export const fr: Record<keyof typeof en, string> = {
  'layout.title': '{page} · {brand}',
  'layout.footer': 'Liens',
  'layout.privacy': 'Confidentialité',
  'layout.terms': 'Conditions d’utilisation',
  'layout.support': 'Aide',
  'layout.languages': 'Langues',
};
