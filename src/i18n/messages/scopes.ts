// The words of the scopes area (issue 18): what the consent page says of the standard scopes, and of a scope nobody
// described (protocol/scopes.ts scopeWords). English is the source; the other languages must have every key (the
// type says so), with the same {placeholders}. A resource server's own descriptions are operators' texts, not here;
// the admin scopes (protocol/admin-scopes.ts) are Tessera's own: the consent page of the CLI's device flow shows them.

export const en = {
  'scopes.openid': 'Sign you in and know your user id',
  'scopes.profile': 'Your name and username',
  'scopes.email': 'Your email address',
  'scopes.offline_access': 'Stay connected when you are not using it',
  'scopes.other': 'Access: {scope}',
  'scopes.admin:dashboard:read': 'Administer Tessera: see the dashboard (counts, sign-in rates, key states, health)',
  'scopes.admin:clients:read': 'Administer Tessera: see every application (client) and its settings',
  'scopes.admin:clients:write':
    'Administer Tessera: create, change, disable and delete applications, rotate their secrets, approve registrations',
  'scopes.admin:users:read': 'Administer Tessera: see every user account',
  'scopes.admin:users:write': 'Administer Tessera: create, change, disable and delete user accounts',
  'scopes.admin:users:credentials':
    "Administer Tessera: reset users' passwords and second factors, unlock accounts, send password-reset mail",
  'scopes.admin:sessions:read': 'Administer Tessera: see sign-in sessions, grants and consents',
  'scopes.admin:sessions:write': 'Administer Tessera: end sessions, revoke grants and consents',
  'scopes.admin:directory:read':
    'Administer Tessera: see groups, application roles, user attributes and claim mappings',
  'scopes.admin:directory:write':
    'Administer Tessera: change groups, application roles, user attributes and claim mappings',
  'scopes.admin:resources:read': 'Administer Tessera: see resource servers and their scopes',
  'scopes.admin:resources:write': 'Administer Tessera: change resource servers and their scopes',
  'scopes.admin:keys:read': 'Administer Tessera: see the signing keys (never their private parts)',
  'scopes.admin:keys:write': 'Administer Tessera: rotate and retire the signing keys',
  'scopes.admin:audit:read': 'Administer Tessera: read the audit trail',
  'scopes.admin:audit:export': 'Administer Tessera: export the whole audit trail',
  'scopes.admin:settings:read': "Administer Tessera: see the server's settings (secrets left out)",
  'scopes.admin:settings:write': 'Administer Tessera: change the branding and other settings',
  'scopes.admin:upstreams:read': 'Administer Tessera: see the upstream identity providers',
  'scopes.admin:upstreams:write':
    'Administer Tessera: change the upstream identity providers (who may sign in as whom)',
  'scopes.admin:webhooks:read': 'Administer Tessera: see the webhook endpoints and their delivery log',
  'scopes.admin:webhooks:write':
    'Administer Tessera: add, change, test and remove webhook endpoints (where audit events are sent)',
  'scopes.admin:roles:write': 'Administer Tessera: give and take admin roles (make owners and admins)',
} as const;

export const de: Record<keyof typeof en, string> = {
  'scopes.openid': 'Sie anmelden und Ihre Benutzerkennung kennen',
  'scopes.profile': 'Ihr Name und Ihr Benutzername',
  'scopes.email': 'Ihre E-Mail-Adresse',
  'scopes.offline_access': 'Verbunden bleiben, auch wenn Sie die Anwendung nicht verwenden',
  'scopes.other': 'Zugriff: {scope}',
  'scopes.admin:dashboard:read':
    'Tessera verwalten: das Dashboard sehen (Zahlen, Anmelderaten, Schlüsselzustände, Systemzustand)',
  'scopes.admin:clients:read': 'Tessera verwalten: alle Anwendungen (Clients) und ihre Einstellungen sehen',
  'scopes.admin:clients:write':
    'Tessera verwalten: Anwendungen anlegen, ändern, deaktivieren und löschen, ihre Geheimnisse erneuern, Registrierungen genehmigen',
  'scopes.admin:users:read': 'Tessera verwalten: alle Benutzerkonten sehen',
  'scopes.admin:users:write': 'Tessera verwalten: Benutzerkonten anlegen, ändern, deaktivieren und löschen',
  'scopes.admin:users:credentials':
    'Tessera verwalten: Passwörter und zweite Faktoren von Benutzern zurücksetzen, Konten entsperren, E-Mails zum Zurücksetzen des Passworts senden',
  'scopes.admin:sessions:read': 'Tessera verwalten: Anmeldesitzungen, Berechtigungen und Zustimmungen sehen',
  'scopes.admin:sessions:write': 'Tessera verwalten: Sitzungen beenden, Berechtigungen und Zustimmungen widerrufen',
  'scopes.admin:directory:read':
    'Tessera verwalten: Gruppen, Anwendungsrollen, Benutzerattribute und Claim-Zuordnungen sehen',
  'scopes.admin:directory:write':
    'Tessera verwalten: Gruppen, Anwendungsrollen, Benutzerattribute und Claim-Zuordnungen ändern',
  'scopes.admin:resources:read': 'Tessera verwalten: Ressourcenserver und ihre Scopes sehen',
  'scopes.admin:resources:write': 'Tessera verwalten: Ressourcenserver und ihre Scopes ändern',
  'scopes.admin:keys:read': 'Tessera verwalten: die Signaturschlüssel sehen (nie ihre privaten Teile)',
  'scopes.admin:keys:write': 'Tessera verwalten: die Signaturschlüssel erneuern und außer Dienst stellen',
  'scopes.admin:audit:read': 'Tessera verwalten: das Audit-Protokoll lesen',
  'scopes.admin:audit:export': 'Tessera verwalten: das gesamte Audit-Protokoll exportieren',
  'scopes.admin:settings:read': 'Tessera verwalten: die Einstellungen des Servers sehen (ohne Geheimnisse)',
  'scopes.admin:settings:write': 'Tessera verwalten: das Erscheinungsbild und andere Einstellungen ändern',
  'scopes.admin:upstreams:read': 'Tessera verwalten: die vorgelagerten Identitätsanbieter sehen',
  'scopes.admin:upstreams:write':
    'Tessera verwalten: die vorgelagerten Identitätsanbieter ändern (wer sich als wer anmelden darf)',
  'scopes.admin:webhooks:read': 'Tessera verwalten: die Webhook-Endpunkte und ihr Zustellprotokoll sehen',
  'scopes.admin:webhooks:write':
    'Tessera verwalten: Webhook-Endpunkte hinzufügen, ändern, testen und entfernen (wohin Audit-Ereignisse gesendet werden)',
  'scopes.admin:roles:write':
    'Tessera verwalten: Administratorrollen vergeben und entziehen (Eigentümer und Administratoren ernennen)',
};

export const fr: Record<keyof typeof en, string> = {
  'scopes.openid': 'Vous connecter et connaître votre identifiant',
  'scopes.profile': 'Votre nom et votre nom d’utilisateur',
  'scopes.email': 'Votre adresse e-mail',
  'scopes.offline_access': 'Garder l’accès même lorsque vous ne l’utilisez pas',
  'scopes.other': 'Accès : {scope}',
  'scopes.admin:dashboard:read':
    'Administrer Tessera : voir le tableau de bord (chiffres, taux de connexion, état des clés, santé)',
  'scopes.admin:clients:read': 'Administrer Tessera : voir chaque application (client) et ses réglages',
  'scopes.admin:clients:write':
    'Administrer Tessera : créer, modifier, désactiver et supprimer des applications, renouveler leurs secrets, approuver des inscriptions',
  'scopes.admin:users:read': 'Administrer Tessera : voir tous les comptes utilisateur',
  'scopes.admin:users:write': 'Administrer Tessera : créer, modifier, désactiver et supprimer des comptes utilisateur',
  'scopes.admin:users:credentials':
    'Administrer Tessera : réinitialiser les mots de passe et seconds facteurs des utilisateurs, débloquer des comptes, envoyer des e-mails de réinitialisation',
  'scopes.admin:sessions:read':
    'Administrer Tessera : voir les sessions de connexion, les autorisations et les consentements',
  'scopes.admin:sessions:write':
    'Administrer Tessera : fermer des sessions, révoquer des autorisations et des consentements',
  'scopes.admin:directory:read':
    'Administrer Tessera : voir les groupes, rôles d’application, attributs utilisateur et correspondances de claims',
  'scopes.admin:directory:write':
    'Administrer Tessera : modifier les groupes, rôles d’application, attributs utilisateur et correspondances de claims',
  'scopes.admin:resources:read': 'Administrer Tessera : voir les serveurs de ressources et leurs scopes',
  'scopes.admin:resources:write': 'Administrer Tessera : modifier les serveurs de ressources et leurs scopes',
  'scopes.admin:keys:read': 'Administrer Tessera : voir les clés de signature (jamais leurs parties privées)',
  'scopes.admin:keys:write': 'Administrer Tessera : renouveler et retirer les clés de signature',
  'scopes.admin:audit:read': 'Administrer Tessera : lire le journal d’audit',
  'scopes.admin:audit:export': 'Administrer Tessera : exporter tout le journal d’audit',
  'scopes.admin:settings:read': 'Administrer Tessera : voir les réglages du serveur (sans les secrets)',
  'scopes.admin:settings:write': 'Administrer Tessera : modifier l’apparence et d’autres réglages',
  'scopes.admin:upstreams:read': 'Administrer Tessera : voir les fournisseurs d’identité en amont',
  'scopes.admin:upstreams:write':
    'Administrer Tessera : modifier les fournisseurs d’identité en amont (qui peut se connecter en tant que qui)',
  'scopes.admin:webhooks:read':
    'Administrer Tessera : voir les points de terminaison des webhooks et leur journal de livraison',
  'scopes.admin:webhooks:write':
    'Administrer Tessera : ajouter, modifier, tester et retirer des points de terminaison de webhooks (où sont envoyés les événements d’audit)',
  'scopes.admin:roles:write':
    'Administrer Tessera : attribuer et retirer des rôles d’administration (nommer des propriétaires et des administrateurs)',
};
