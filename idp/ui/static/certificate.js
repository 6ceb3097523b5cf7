// Certificate sign-in: ask the person's local signing tool (on loopback) to sign the challenge,
// then post the signature. The tool answers JSON {"signature": base64 CMS} to POST /sign with
// {"data": base64 of the challenge}. Without the tool the page says so.
// Remote signing: while the request waits for the person's confirmation in the phone app, ask this
// site for its status every two seconds and continue by itself once it is answered.
document.addEventListener("DOMContentLoaded", function () {
  var waiting = document.getElementById("remote-wait");
  if (waiting) {
    document.getElementById("remote-continue").style.display = "none";
    var poll = function () {
      fetch(waiting.dataset.status, {credentials: "same-origin", cache: "no-store"}).then(function (answer) {
        if (!answer.ok) { throw new Error("status"); }
        return answer.json();
      }).then(function (body) {
        if (body.status === "answered") { waiting.submit(); } else { setTimeout(poll, 2000); }
      }).catch(function () {
        document.getElementById("remote-continue").style.display = "";  // the person continues by hand
      });
    };
    setTimeout(poll, 1000);
  }
  var form = document.getElementById("certificate-form");
  var button = document.getElementById("certificate-sign");
  var status = document.getElementById("certificate-status");
  if (!form || !button) { return; }
  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = form.dataset.working;
    var data = btoa(unescape(encodeURIComponent(form.dataset.challenge)));
    fetch(form.dataset.tool + "/sign", {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({data: data})
    }).then(function (answer) {
      if (!answer.ok) { throw new Error("refused"); }
      return answer.json();
    }).then(function (body) {
      form.elements.signature.value = body.signature;
      form.submit();
    }).catch(function () {
      status.textContent = form.dataset.unavailable;
      button.disabled = false;
    });
  });
});
