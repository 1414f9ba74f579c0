// The words of the scopes area (issue 18): what the consent page says of the standard scopes, and of a scope nobody
// described (protocol/scopes.ts scopeWords). English is the source; the other languages must have every key (the
// type says so), with the same {placeholders}. A resource server's own descriptions are operators' texts, not here.

export const en = {
  'scopes.openid': 'Sign you in and know your user id',
  'scopes.profile': 'Your name and username',
  'scopes.email': 'Your email address',
  'scopes.offline_access': 'Stay connected when you are not using it',
  'scopes.other': 'Access: {scope}',
} as const;

export const de: Record<keyof typeof en, string> = {
  'scopes.openid': 'Sie anmelden und Ihre Benutzerkennung kennen',
  'scopes.profile': 'Ihr Name und Ihr Benutzername',
  'scopes.email': 'Ihre E-Mail-Adresse',
  'scopes.offline_access': 'Verbunden bleiben, auch wenn Sie die Anwendung nicht verwenden',
  'scopes.other': 'Zugriff: {scope}',
};

export const fr: Record<keyof typeof en, string> = {
  'scopes.openid': 'Vous connecter et connaître votre identifiant',
  'scopes.profile': 'Votre nom et votre nom d’utilisateur',
  'scopes.email': 'Votre adresse e-mail',
  'scopes.offline_access': 'Garder l’accès même lorsque vous ne l’utilisez pas',
  'scopes.other': 'Accès : {scope}',
};
