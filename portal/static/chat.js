// After htmx appends the new turns: clear the input, keep the newest turn in view.
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.detail.elt;
  if (form && form.classList && form.classList.contains("chat-form") && event.detail.successful) {
    form.reset();
    var input = form.querySelector("input[name=message]");
    if (input) { input.focus(); }
  }
  var log = document.getElementById("chat-log");
  if (log && log.lastElementChild) { log.lastElementChild.scrollIntoView({block: "end"}); }
});
