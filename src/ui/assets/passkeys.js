// Tessera's passkey script, served as /assets/passkeys.js beside the @simplewebauthn/browser bundle
// (/assets/webauthn.js, the global SimpleWebAuthnBrowser). Progressive enhancement: the pages work
// without it (passwords), it only adds passkeys. It reads a ceremony's options from the form's
// data-options attribute, runs the ceremony, puts the answer in the form's hidden "response" field
// and submits the form as usual (with its CSRF token), so the server answers with a page or a
// redirect. No inline script, no eval: the page's CSP allows only nonce'd scripts.
(() => {
  'use strict';
  const lib = globalThis.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  const say = (form, text) => {
    const status = form.querySelector('[data-passkey-status]');
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  };
  const optionsOf = (form) => {
    try {
      return JSON.parse(form.getAttribute('data-options') || '');
    } catch {
      return undefined;
    }
  };
  const send = (form, answer) => {
    form.querySelector('input[name="response"]').value = JSON.stringify(answer);
    form.submit();
  };
  // The words come from the page, in its language (data-msg-* attributes of the form).
  const words = (form, name) => form.getAttribute(`data-msg-${name}`) || '';
  // A ceremony the user cancelled, or that a newer one replaced, is not an error worth showing.
  const quiet = (err) => err && (err.name === 'AbortError' || err.code === 'ERROR_CEREMONY_ABORTED');

  for (const form of document.querySelectorAll('form[data-passkey="login"]')) {
    const optionsJSON = optionsOf(form);
    if (!optionsJSON) continue;
    let busy = false;
    const button = form.querySelector('[data-passkey-start]');
    if (button) {
      button.hidden = false;
      button.addEventListener('click', () => {
        if (busy) return;
        busy = true;
        say(form, '');
        lib
          .startAuthentication({ optionsJSON })
          .then((answer) => send(form, answer))
          .catch((err) => {
            busy = false;
            if (!quiet(err)) say(form, words(form, 'not-used'));
          });
      });
    }
    // Conditional mediation: the browser offers its passkeys in the username field's autofill.
    lib
      .browserSupportsWebAuthnAutofill()
      .then((yes) => {
        if (!yes || !document.querySelector('input[autocomplete$="webauthn"]')) return;
        return lib.startAuthentication({ optionsJSON, useBrowserAutofill: true }).then((answer) => {
          busy = true;
          send(form, answer);
        });
      })
      .catch(() => {});
  }

  for (const form of document.querySelectorAll('form[data-passkey="register"]')) {
    const optionsJSON = optionsOf(form);
    if (!optionsJSON) continue;
    const needed = form.querySelector('[data-passkey-needs-script]');
    if (needed) needed.hidden = true;
    for (const el of form.querySelectorAll('[data-passkey-enabled]')) el.disabled = false;
    let busy = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      say(form, '');
      lib
        .startRegistration({ optionsJSON })
        .then((answer) => send(form, answer))
        .catch((err) => {
          busy = false;
          if (err && err.name === 'InvalidStateError')
            say(form, words(form, 'exists'));
          else if (!quiet(err)) say(form, words(form, 'not-created'));
        });
    });
  }
})();
