// The words of the mails (ui/mail.ts): subjects, paragraphs, buttons. English is the source; the other languages must
// have every key (the type says so), with the same {placeholders}. A mail's values (a name, an address, a time, a
// link) fill the placeholders; the time is already written in the mail's language when it gets here.

export const en = {
  'mail.hello': 'Hello {username},',
  'mail.helloAnonymous': 'Hello,',
  'mail.time': 'Time: {time}',
  'mail.browser': 'Browser: {browser}',
  'mail.copyLink': 'Or copy this address into your browser:',
  'mail.linkLine': '{label}: {link}',
  'mail.notYou':
    'If this was not you, change your password now and check the sign-in methods of your account, or ask the operator of this service for help.',
  'mail.ignore': 'If you did not ask for this, you can ignore this mail: nothing changes until the link is used.',
  'mail.duration.shortWhile': 'a short while',
  'mail.duration.minute': '{count} minute',
  'mail.duration.minutes': '{count} minutes',
  'mail.duration.hour': '{count} hour',
  'mail.duration.hours': '{count} hours',
  'mail.duration.day': '{count} day',
  'mail.duration.days': '{count} days',
  'mail.factor.passkey': 'A passkey',
  'mail.factor.app': 'An authenticator app',
  'mail.factor.upstream': 'Signing in through the provider "{provider}"',
  'mail.factor.unknownProvider': 'unknown',
  'mail.verify.subject': 'Confirm your email address for {service}',
  'mail.verify.body':
    'Confirm that {address} is yours by opening the link below and pressing the button there. The link works once, for {duration}.',
  'mail.verify.thisAddress': 'this address',
  'mail.verify.button': 'Confirm my email address',
  'mail.emailChanged.subject': 'The email address of your {service} account was changed',
  'mail.emailChanged.body':
    'The email address of your account was changed to {address}. Mail about your account goes there from now on.',
  'mail.emailChanged.bodyRemoved': 'The email address of your account was removed.',
  'mail.reset.subject': 'Reset your {service} password',
  'mail.reset.body':
    'Someone asked to reset the password of your account. To choose a new one, open the link below. It works once, for {duration}, and a newer link or a sign-in ends it.',
  'mail.reset.button': 'Choose a new password',
  'mail.passwordChanged.subject': 'Your {service} password was changed',
  'mail.passwordChanged.body': 'The password of your account was changed. Every session was signed out.',
  'mail.passwordChanged.bodyReset':
    'The password of your account was changed. Every session was signed out and every application must be allowed again.',
  'mail.newDevice.subject': 'New sign-in to your {service} account',
  'mail.newDevice.body': 'Your account was signed in to from a browser it had not been used from before.',
  'mail.factorAdded.subject': 'A sign-in method was added to your {service} account',
  'mail.factorAdded.body': '{factor} was added to your account.',
  'mail.factorRemoved.subject': 'A sign-in method was removed from your {service} account',
  'mail.factorRemoved.body': '{factor} was removed from your account.',
  'mail.accountDeleted.subject': 'Your {service} account was deleted',
  'mail.accountDeleted.body':
    'Your account was deleted, with its sign-in methods and the access you gave applications.',
  'mail.accountDeleted.footer': 'If this was not you, contact the operator of this service at once.',
  'mail.other.subject': 'A message from {service}',
} as const;

export const de: Record<keyof typeof en, string> = {
  'mail.hello': 'Hallo {username},',
  'mail.helloAnonymous': 'Guten Tag,',
  'mail.time': 'Zeitpunkt: {time}',
  'mail.browser': 'Browser: {browser}',
  'mail.copyLink': 'Oder kopieren Sie diese Adresse in Ihren Browser:',
  'mail.linkLine': '{label}: {link}',
  'mail.notYou':
    'Falls Sie das nicht waren, ändern Sie jetzt Ihr Passwort und prüfen Sie die Anmeldemethoden Ihres Kontos, oder bitten Sie den Betreiber dieses Dienstes um Hilfe.',
  'mail.ignore':
    'Falls Sie das nicht angefordert haben, können Sie diese E-Mail ignorieren: Solange der Link nicht benutzt wird, ändert sich nichts.',
  'mail.duration.shortWhile': 'kurze Zeit',
  'mail.duration.minute': '{count} Minute',
  'mail.duration.minutes': '{count} Minuten',
  'mail.duration.hour': '{count} Stunde',
  'mail.duration.hours': '{count} Stunden',
  'mail.duration.day': '{count} Tag',
  'mail.duration.days': '{count} Tage',
  'mail.factor.passkey': 'Ein Passkey',
  'mail.factor.app': 'Eine Authenticator-App',
  'mail.factor.upstream': 'Die Anmeldung über den Anbieter „{provider}“',
  'mail.factor.unknownProvider': 'unbekannt',
  'mail.verify.subject': 'Bestätigen Sie Ihre E-Mail-Adresse für {service}',
  'mail.verify.body':
    'Bestätigen Sie, dass {address} Ihnen gehört: Öffnen Sie den Link unten und klicken Sie dort auf die Schaltfläche. Der Link funktioniert einmal und ist {duration} lang gültig.',
  'mail.verify.thisAddress': 'diese Adresse',
  'mail.verify.button': 'E-Mail-Adresse bestätigen',
  'mail.emailChanged.subject': 'Die E-Mail-Adresse Ihres Kontos bei {service} wurde geändert',
  'mail.emailChanged.body':
    'Die E-Mail-Adresse Ihres Kontos wurde in {address} geändert. E-Mails zu Ihrem Konto gehen ab jetzt dorthin.',
  'mail.emailChanged.bodyRemoved': 'Die E-Mail-Adresse Ihres Kontos wurde entfernt.',
  'mail.reset.subject': 'Setzen Sie Ihr Passwort für {service} zurück',
  'mail.reset.body':
    'Jemand hat angefordert, das Passwort Ihres Kontos zurückzusetzen. Um ein neues zu wählen, öffnen Sie den Link unten. Er funktioniert einmal und ist {duration} lang gültig; ein neuerer Link oder eine Anmeldung macht ihn ungültig.',
  'mail.reset.button': 'Neues Passwort wählen',
  'mail.passwordChanged.subject': 'Ihr Passwort für {service} wurde geändert',
  'mail.passwordChanged.body': 'Das Passwort Ihres Kontos wurde geändert. Alle Sitzungen wurden abgemeldet.',
  'mail.passwordChanged.bodyReset':
    'Das Passwort Ihres Kontos wurde geändert. Alle Sitzungen wurden abgemeldet, und jede Anwendung muss erneut zugelassen werden.',
  'mail.newDevice.subject': 'Neue Anmeldung bei Ihrem Konto bei {service}',
  'mail.newDevice.body':
    'Jemand hat sich bei Ihrem Konto von einem Browser aus angemeldet, der dafür bisher nicht verwendet wurde.',
  'mail.factorAdded.subject': 'Ihrem Konto bei {service} wurde eine Anmeldemethode hinzugefügt',
  'mail.factorAdded.body': '{factor} wurde Ihrem Konto hinzugefügt.',
  'mail.factorRemoved.subject': 'Aus Ihrem Konto bei {service} wurde eine Anmeldemethode entfernt',
  'mail.factorRemoved.body': '{factor} wurde aus Ihrem Konto entfernt.',
  'mail.accountDeleted.subject': 'Ihr Konto bei {service} wurde gelöscht',
  'mail.accountDeleted.body':
    'Ihr Konto wurde gelöscht, mitsamt seinen Anmeldemethoden und den Zugriffen, die Sie Anwendungen erteilt hatten.',
  'mail.accountDeleted.footer': 'Falls Sie das nicht waren, wenden Sie sich umgehend an den Betreiber dieses Dienstes.',
  'mail.other.subject': 'Eine Nachricht von {service}',
};

export const fr: Record<keyof typeof en, string> = {
  'mail.hello': 'Bonjour {username},',
  'mail.helloAnonymous': 'Bonjour,',
  'mail.time': 'Date : {time}',
  'mail.browser': 'Navigateur : {browser}',
  'mail.copyLink': 'Ou copiez cette adresse dans votre navigateur :',
  'mail.linkLine': '{label} : {link}',
  'mail.notYou':
    'Si ce n’était pas vous, changez votre mot de passe dès maintenant et vérifiez les méthodes de connexion de votre compte, ou demandez de l’aide à l’exploitant de ce service.',
  'mail.ignore':
    'Si vous n’en êtes pas à l’origine, vous pouvez ignorer ce message : rien ne change tant que le lien n’est pas utilisé.',
  'mail.duration.shortWhile': 'peu de temps',
  'mail.duration.minute': '{count} minute',
  'mail.duration.minutes': '{count} minutes',
  'mail.duration.hour': '{count} heure',
  'mail.duration.hours': '{count} heures',
  'mail.duration.day': '{count} jour',
  'mail.duration.days': '{count} jours',
  'mail.factor.passkey': 'Une clé d’accès',
  'mail.factor.app': 'Une application d’authentification',
  'mail.factor.upstream': 'La connexion via le fournisseur « {provider} »',
  'mail.factor.unknownProvider': 'inconnu',
  'mail.verify.subject': 'Confirmez votre adresse e-mail pour {service}',
  'mail.verify.body':
    'Confirmez que {address} vous appartient en ouvrant le lien ci-dessous et en appuyant sur le bouton qui s’y trouve. Le lien ne fonctionne qu’une fois, pendant {duration}.',
  'mail.verify.thisAddress': 'cette adresse',
  'mail.verify.button': 'Confirmer mon adresse e-mail',
  'mail.emailChanged.subject': 'L’adresse e-mail de votre compte {service} a été modifiée',
  'mail.emailChanged.body':
    'L’adresse e-mail de votre compte a été remplacée par {address}. Les messages concernant votre compte y seront désormais envoyés.',
  'mail.emailChanged.bodyRemoved': 'L’adresse e-mail de votre compte a été supprimée.',
  'mail.reset.subject': 'Réinitialisez votre mot de passe {service}',
  'mail.reset.body':
    'Quelqu’un a demandé la réinitialisation du mot de passe de votre compte. Pour en choisir un nouveau, ouvrez le lien ci-dessous. Il ne fonctionne qu’une fois, pendant {duration}, et un lien plus récent ou une connexion le rend caduc.',
  'mail.reset.button': 'Choisir un nouveau mot de passe',
  'mail.passwordChanged.subject': 'Votre mot de passe {service} a été modifié',
  'mail.passwordChanged.body': 'Le mot de passe de votre compte a été modifié. Toutes les sessions ont été fermées.',
  'mail.passwordChanged.bodyReset':
    'Le mot de passe de votre compte a été modifié. Toutes les sessions ont été fermées et chaque application doit de nouveau être autorisée.',
  'mail.newDevice.subject': 'Nouvelle connexion à votre compte {service}',
  'mail.newDevice.body': 'Une connexion à votre compte a eu lieu depuis un navigateur jamais utilisé auparavant.',
  'mail.factorAdded.subject': 'Une méthode de connexion a été ajoutée à votre compte {service}',
  'mail.factorAdded.body': '{factor} a été ajoutée à votre compte.',
  'mail.factorRemoved.subject': 'Une méthode de connexion a été retirée de votre compte {service}',
  'mail.factorRemoved.body': '{factor} a été retirée de votre compte.',
  'mail.accountDeleted.subject': 'Votre compte {service} a été supprimé',
  'mail.accountDeleted.body':
    'Votre compte a été supprimé, avec ses méthodes de connexion et les accès que vous aviez accordés à des applications.',
  'mail.accountDeleted.footer': 'Si ce n’était pas vous, contactez immédiatement l’exploitant de ce service.',
  'mail.other.subject': 'Un message de {service}',
};
