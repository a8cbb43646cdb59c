// Send the page's CSRF token as a header on every htmx request too.
// It is read from the forms at request time: after login or logout the
// body is swapped and carries the new token, while <head> is not.
document.addEventListener("htmx:config:request", (event) => {
  const field = document.querySelector('input[name="csrf_token"]');
  if (field) event.detail.ctx.request.headers["X-CSRF-Token"] = field.value;
});
