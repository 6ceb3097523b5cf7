// Form Post Response Mode: submit the response form on load. The page works without this script:
// its button posts the same form.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }
});
