// Forms marked data-swap-errors show the server's refusal (a 4xx with a message fragment)
// in their target instead of htmx's default of dropping it.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    var marked = elt && elt.closest && elt.closest("[data-swap-errors]");
    if (marked && evt.detail.xhr && evt.detail.xhr.status >= 400 && evt.detail.xhr.status < 500) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
