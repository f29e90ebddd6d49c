// Upload widget (documents/macros.html): progress bar and error display for htmx uploads.
// Without JavaScript the form posts normally and the server redirects back.
(function () {
  "use strict";

  function widget(evt) {
    var elt = evt.detail && evt.detail.elt;
    return elt && elt.closest ? elt.closest("form.doc-upload") : null;
  }

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = widget(evt);
    if (!form || !evt.detail.lengthComputable || !evt.detail.total) return;
    var bar = form.querySelector("progress.doc-upload-progress");
    if (!bar) return;
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  });

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = widget(evt);
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  });

  // The server answers refusals (too large, wrong type, storage down) with a 4xx/5xx and a
  // message fragment: show it instead of dropping it.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (widget(evt) && evt.detail.xhr && evt.detail.xhr.status >= 400) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = widget(evt);
    if (!form) return;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = false;
    var bar = form.querySelector("progress.doc-upload-progress");
    if (bar) { bar.hidden = true; bar.value = 0; }
    if (evt.detail.successful) {
      var input = form.querySelector("input[type=file]");
      if (input) input.value = "";
    }
  });
})();
