// Starts Swagger UI on /schema: loaded as a file because the portal's CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-container");
  if (!container || typeof window.SwaggerUIBundle !== "function") return;
  window.ui = window.SwaggerUIBundle({
    url: container.getAttribute("data-spec-url"),
    dom_id: "#swagger-container",
    deepLinking: false,  // a link inside each operation's toggle button is nested interactive content (axe)
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    onComplete: label,
  });
  // Swagger UI's server list has no label: name it (in the page's language) whenever it is drawn.
  function label() {
    var select = document.getElementById("servers");
    if (select && !select.getAttribute("aria-label")) {
      select.setAttribute("aria-label", document.documentElement.lang === "en" ? "Server" : "服务器");
    }
  }
  new MutationObserver(label).observe(container, {childList: true, subtree: true});
});
