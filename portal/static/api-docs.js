// Starts Swagger UI on /schema: loaded as a file because the portal's CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  var container = document.getElementById("swagger-container");
  if (!container || typeof window.SwaggerUIBundle !== "function") return;
  window.ui = window.SwaggerUIBundle({
    url: container.getAttribute("data-spec-url"),
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
