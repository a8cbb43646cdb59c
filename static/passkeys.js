// Passkeys, with @simplewebauthn/browser (served from node_modules by app.py).
//
// A passkey form is an ordinary form with a hidden `credential` field and two attributes:
// `data-passkey` (what the ceremony is: "login", "register", or "confirm", a passkey in place
// of the password) and `data-passkey-options` (where its options come from). The login and
// add forms stay hidden, and a confirm form's passkey button too, until this module finds that
// the browser has WebAuthn. Submitting such a form (a confirm form: with its passkey button)
// first runs the ceremony: a form-encoded POST (with the CSRF token, like every post) to the
// options address returns the options as JSON, the browser asks the authenticator, and its
// answer goes into `credential`; then the form is submitted again, and htmx posts it and swaps
// in the answer like any other form's.
//
// On the login page the email field (autocomplete="username webauthn") also offers the
// browser's passkeys (conditional mediation), when the browser can do that.
//
// A module runs once per document, so what a swapped-in page needs is done again after every
// htmx swap (a boosted navigation brings its <script> along, but it does not run twice).
import {
  WebAuthnAbortService,
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
} from "/static/simplewebauthn/index.js";

const FORMS = "form[data-passkey]";
const supported = browserSupportsWebAuthn();
let autofillPending = false; // a conditional request is waiting for the user to pick a passkey in the autofill
let buttonBusy = false; // the user started a ceremony with a button; the autofill must not cancel it

function field(form, name) {
  return form.querySelector(`input[name="${name}"]`);
}

function say(form, message) {
  const status = form.querySelector(".passkey-status");
  if (status) status.textContent = message;
}

function loginForm() {
  return document.querySelector('form[data-passkey="login"]');
}

class Refused extends Error {}

async function options(form) {
  const token = field(form, "csrf_token").value;
  const response = await fetch(form.dataset.passkeyOptions, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token },
    body: new URLSearchParams({ csrf_token: token }),
    credentials: "same-origin",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(body.error || "Something went wrong. Reload the page and try again.");
  return body;
}

// The browser's answer into the form, then the form's own submission (htmx's, or a plain post).
function send(form, answer) {
  field(form, "credential").value = JSON.stringify(answer);
  if (form.dataset.passkey === "login") field(form, "remember").value = document.getElementById("remember")?.checked ? "yes" : "";
  form.requestSubmit();
}

function problem(error) {
  if (error instanceof Refused) return error.message;
  if (error?.name === "InvalidStateError") return "This device already holds a passkey for your account.";
  if (error?.name === "NotAllowedError") return "No passkey was used: the request was cancelled or timed out.";
  return "Passkeys did not work here just now. Try again.";
}

async function ceremony(form) {
  const optionsJSON = await options(form);
  return form.dataset.passkey === "register" ? startRegistration({ optionsJSON }) : startAuthentication({ optionsJSON });
}

// A click on a passkey button (a submission without an answer yet): the ceremony first.
document.addEventListener(
  "submit",
  async (event) => {
    const form = event.target;
    if (!form.matches(FORMS) || field(form, "credential").value) return; // an answer: htmx posts it
    if (form.dataset.passkey === "confirm" && !event.submitter?.classList.contains("passkey-confirm")) return; // the password
    event.preventDefault();
    event.stopImmediatePropagation();
    if (buttonBusy) return;
    buttonBusy = true;
    say(form, "");
    try {
      send(form, await ceremony(form));
    } catch (error) {
      if (error?.name !== "AbortError") say(form, problem(error));
    } finally {
      buttonBusy = false;
      startAutofill();
    }
  },
  true, // before htmx's own listener on the form
);

// The email field's autofill offers passkeys: a login that waits, without a prompt, for the user to pick one.
async function startAutofill() {
  const form = loginForm();
  if (!form || autofillPending || buttonBusy || !(await browserSupportsWebAuthnAutofill())) return;
  autofillPending = true;
  try {
    const optionsJSON = await options(form);
    if (buttonBusy) return; // a button's ceremony started meanwhile, with a challenge of its own
    send(form, await startAuthentication({ optionsJSON, useBrowserAutofill: true }));
  } catch {
    // Nobody asked for this one: an autofill that cannot start or is dismissed says nothing.
  } finally {
    autofillPending = false;
  }
}

// Show what this browser can use, and on the login page wait for the autofill; on other pages end that wait.
function enhance() {
  forgetAnswers();
  if (supported) {
    for (const form of document.querySelectorAll(FORMS)) form.removeAttribute("hidden");
    for (const button of document.querySelectorAll("button.passkey-confirm")) button.hidden = false;
    for (const note of document.querySelectorAll(".passkey-unsupported")) note.hidden = true;
  }
  if (loginForm()) {
    if (supported) startAutofill();
  } else if (autofillPending) {
    WebAuthnAbortService.cancelCeremony();
  }
}

// An answer is for one post: a refused one must not go again with the next click (the login's form stays in place).
function forgetAnswers() {
  for (const form of document.querySelectorAll(FORMS)) field(form, "credential").value = "";
}

document.addEventListener("htmx:after:request", forgetAnswers);
document.addEventListener("htmx:after:swap", enhance);
enhance();
