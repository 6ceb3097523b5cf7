// Certificate sign-in: ask the person's local signing tool (on loopback) to sign the challenge,
// then post the signature. The tool answers JSON {"signature": base64 CMS} to POST /sign with
// {"data": base64 of the challenge}. Without the tool the page says so.
document.addEventListener("DOMContentLoaded", function () {
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
