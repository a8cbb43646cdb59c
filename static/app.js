// Send the page's CSRF token as a header on every htmx request too.
// It is read from the forms at request time: after login or logout the
// body is swapped and carries the new token, while <head> is not.
document.addEventListener("htmx:config:request", (event) => {
  const field = document.querySelector('input[name="csrf_token"]');
  if (field) event.detail.ctx.request.headers["X-CSRF-Token"] = field.value;
});

// Focus after a swap. When the page changed (a boosted link or form, a
// redirect through HX-Location, a history restore: htmx swapped the body),
// start the keyboard and the screen reader at the new content, as the skip
// link does, unless the page asks for a field (autofocus on the first invalid
// one). htmx would otherwise keep the focus on an element of the new page
// that shares the old one's id (the login form's password after signing up),
// or leave it on the document, from where the next Tab leaves the page. After
// a swap of a part, a focus htmx set or kept stays; a lost one goes to main.
document.addEventListener("htmx:after:swap", (event) => {
  const active = document.activeElement;
  const pageChanged = event.detail.ctx?.target === document.body;
  if (pageChanged ? active?.hasAttribute("autofocus") : active && active !== document.body) return;
  document.getElementById("main")?.focus({ preventScroll: true });
});
