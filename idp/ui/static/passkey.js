// Passkeys (WebAuthn): a button runs the ceremony whose options (JSON) the page carries in the
// data-json attribute of the element the form names (data-passkey-options), then posts the authenticator's answer in the
// form's hidden "credential" field. Without JavaScript or WebAuthn the page says so (the other
// factors stay available); the server checks everything it receives.
(function () {
  "use strict";

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(o) {
    o.challenge = fromB64url(o.challenge);
    o.user.id = fromB64url(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: o };
  }

  function requestOptions(o) {
    o.challenge = fromB64url(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: o };
  }

  function encoded(credential) {
    var r = credential.response, response = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toB64url(r.authenticatorData);
      response.signature = toB64url(r.signature);
      response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify({ id: credential.id, rawId: toB64url(credential.rawId), type: credential.type,
                            response: response, authenticatorAttachment: credential.authenticatorAttachment || null,
                            clientExtensionResults: credential.getClientExtensionResults() });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-passkey]");
    Array.prototype.forEach.call(forms, function (form) {
      var status = form.querySelector("[data-passkey-status]");
      var source = document.getElementById(form.getAttribute("data-passkey-options"));
      if (!window.PublicKeyCredential || !navigator.credentials || !source) {
        if (status) { status.hidden = false; status.textContent = status.getAttribute("data-unsupported"); }
        form.querySelector("button").disabled = true;
        return;
      }
      form.addEventListener("submit", function (event) {
        if (form.elements.credential.value) { return; }
        event.preventDefault();
        var options = JSON.parse(source.getAttribute("data-json"));
        var ceremony = form.getAttribute("data-passkey") === "create"
          ? navigator.credentials.create(creationOptions(options))
          : navigator.credentials.get(requestOptions(options));
        ceremony.then(function (credential) {
          form.elements.credential.value = encoded(credential);
          form.submit();
        }, function () {
          if (status) { status.hidden = false; status.textContent = status.getAttribute("data-cancelled"); }
        });
      });
    });
  });
})();
