/* Security keys and passkeys (issue 21): the browser's WebAuthn calls for django-allauth's forms.
   No inline script anywhere: each page says what to do in a JSON block made by json_script,
     <script type="application/json" id="webauthn-config">{"mode": ..., "button": ..., ...}</script>
   and, for add/authenticate, the options the server made in another (id "webauthn-options").
   mode "create": make a new credential (adding a key); "get": use one (second step, sudo mode);
   "login": a passkey sign-in, asking the server for fresh options first.
   webauthn-json (allauth's static file, loaded before this one) turns options and answers into
   JSON that the server reads. */
(function () {
  'use strict';

  function readJSON(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function showError(config, error) {
    var box = config.error ? document.getElementById(config.error) : null;
    if (box) {
      box.hidden = false;
      box.textContent = error && error.name === 'NotAllowedError'
        ? 'The browser did not use a key (cancelled, or timed out). Try again.'
        : 'This browser could not use a security key here. Try again, or use another way.';
    }
    if (window.console) { window.console.error(error); }
  }

  async function optionsFor(config, form) {
    if (config.mode === 'login') {
      var response = await fetch(form.action, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      if (!response.ok) { throw new Error('No passkey options from the server.'); }
      return (await response.json()).request_options;
    }
    var options = readJSON(config.options || 'webauthn-options');
    return config.mode === 'create' ? options.creation_options : options.request_options;
  }

  async function run(config, form, credentialInput) {
    var options = await optionsFor(config, form);
    var credential;
    if (config.mode === 'create') {
      var passwordless = config.passwordless ? document.getElementById(config.passwordless) : null;
      var selection = options.publicKey.authenticatorSelection = options.publicKey.authenticatorSelection || {};
      if (passwordless) {
        selection.residentKey = passwordless.checked ? 'required' : 'discouraged';
        selection.requireResidentKey = passwordless.checked;
        if (passwordless.checked) { selection.userVerification = 'required'; }
      }
      credential = await window.webauthnJSON.create(options);
    } else {
      credential = await window.webauthnJSON.get(options);
    }
    credentialInput.value = JSON.stringify(credential);
    form.submit();
  }

  function start() {
    var config = readJSON('webauthn-config');
    if (!config) { return; }
    var button = document.getElementById(config.button);
    var credentialInput = document.getElementById(config.credential);
    if (!button || !credentialInput) { return; }
    var form = credentialInput.form;
    if (!window.PublicKeyCredential || !window.webauthnJSON) {
      button.disabled = true;
      showError(config, null);
      return;
    }
    button.hidden = false;
    button.addEventListener('click', function (event) {
      event.preventDefault();
      run(config, form, credentialInput).catch(function (error) { showError(config, error); });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
