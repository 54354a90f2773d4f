// docrsim control panel: calls the DO API and the control API, then shows the page the
// server renders again. No rules live here: every check is the API's.
"use strict";

const TOKEN_COOKIE = "docrsim_token";
const registry = () => document.body.dataset.registry;
const expanded = new Set(); // repositories whose versions are shown
let pollTimer = null;
let lastRefreshMs = 0;

function token() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(TOKEN_COOKIE + "="));
  return found ? decodeURIComponent(found.slice(TOKEN_COOKIE.length + 1)) : "";
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token() };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).message || message;
    } catch (_) { /* not a JSON error body */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

const registryPath = (rest) => `/v2/registries/${encodeURIComponent(registry())}${rest}`;
const repositoryPath = (repository, rest) => registryPath(`/repositories/${encodeURIComponent(repository)}${rest}`);

// -- live regions -----------------------------------------------------------------------------
// Fetch this page again and swap in the regions marked data-live; "if-changed" ones only when
// their signature differs, so expanded rows and open details survive a refresh that changes
// nothing in them.
async function refresh() {
  const started = performance.now();
  let fresh;
  try {
    const response = await fetch(location.href, { headers: { Accept: "text/html" } });
    fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (error) {
    document.getElementById("clock-status").textContent = `Cannot reach docrsim: ${error.message}`;
    schedulePoll();
    return;
  }
  const focusedId = document.activeElement && document.activeElement.id;
  const openDetails = [...document.querySelectorAll("details[open][id]")].map((d) => d.id);
  for (const next of fresh.querySelectorAll("[data-live][id]")) {
    const current = document.getElementById(next.id);
    if (!current) continue;
    if (next.dataset.live === "if-changed" && current.dataset.signature === next.dataset.signature) continue;
    current.replaceWith(document.importNode(next, true));
    if (next.id === "repositories") await reopenRepositories();
  }
  for (const id of openDetails) {
    const details = document.getElementById(id);
    if (details) details.open = true;
  }
  if (focusedId && document.activeElement === document.body) {
    const again = document.getElementById(focusedId);
    if (again) again.focus();
  }
  lastRefreshMs = performance.now() - started;
  schedulePoll();
}

function schedulePoll() {
  clearTimeout(pollTimer);
  const gc = document.getElementById("gc");
  if (!gc || gc.dataset.active !== "true") return;
  // A system clock moves on its own; a manual one only when someone moves it.
  const base = document.body.dataset.clockKind === "system" ? 2000 : 5000;
  pollTimer = setTimeout(refresh, Math.max(base, 3 * lastRefreshMs));
}

// -- repositories and their versions -------------------------------------------------------------
async function showVersions(button, url) {
  const row = document.getElementById(button.getAttribute("aria-controls"));
  const holder = row.querySelector(".versions");
  holder.innerHTML = "<p>Loading versions…</p>";
  row.hidden = false;
  button.setAttribute("aria-expanded", "true");
  button.querySelector(".expand-sign").textContent = "−";
  const response = await fetch(url || button.dataset.versionsUrl, { headers: { Accept: "text/html" } });
  holder.innerHTML = await response.text();
}

function hideVersions(button) {
  document.getElementById(button.getAttribute("aria-controls")).hidden = true;
  button.setAttribute("aria-expanded", "false");
  button.querySelector(".expand-sign").textContent = "+";
}

async function reopenRepositories() {
  for (const tbody of document.querySelectorAll("tbody.repo")) {
    if (expanded.has(tbody.dataset.repository)) await showVersions(tbody.querySelector("button.expand"));
  }
}

function updateSelection(panel) {
  const boxes = [...panel.querySelectorAll(".select-version")];
  const chosen = boxes.filter((b) => b.checked).length;
  const all = panel.querySelector(".select-all");
  all.checked = chosen > 0 && chosen === boxes.length;
  all.indeterminate = chosen > 0 && chosen < boxes.length;
  // While a garbage collection holds the registry read-only the DO API refuses deletes.
  panel.querySelector("[data-action=delete-selected]").disabled = chosen === 0 || panel.dataset.readOnly === "true";
  panel.querySelector(".selection-count").textContent = `${chosen} selected`;
}

function closeMenus(except) {
  for (const button of document.querySelectorAll(".menu-button[aria-expanded=true]")) {
    if (button === except) continue;
    button.setAttribute("aria-expanded", "false");
    document.getElementById(button.getAttribute("aria-controls")).hidden = true;
  }
}

// -- dialogs ---------------------------------------------------------------------------------
function fill(dialog, name, value) {
  const target = dialog.querySelector(`[data-fill=${name}]`);
  if (target) target.textContent = value;
  return target;
}

function openConfirmDelete(repository, digests) {
  const dialog = document.getElementById("confirm-delete");
  fill(dialog, "count", digests.length === 1 ? "1 image version" : `${digests.length} image versions`);
  fill(dialog, "repository", repository);
  fill(dialog, "error", "");
  const list = fill(dialog, "digests", "");
  for (const digest of digests) {
    const item = document.createElement("li");
    item.innerHTML = "<code></code>";
    item.firstChild.textContent = digest;
    list.appendChild(item);
  }
  const input = dialog.querySelector("#confirm-name");
  input.value = "";
  dialog.querySelector("#confirm-destroy").disabled = true;
  dialog.dataset.repository = repository;
  dialog.dataset.digests = JSON.stringify(digests);
  dialog.showModal();
  input.focus();
}

async function destroy(dialog) {
  const button = dialog.querySelector("#confirm-destroy");
  button.disabled = true;
  const repository = dialog.dataset.repository;
  try {
    for (const digest of JSON.parse(dialog.dataset.digests)) {
      await api("DELETE", repositoryPath(repository, `/digests/${digest}`));
    }
    dialog.close();
    await refresh();
  } catch (error) {
    fill(dialog, "error", error.message);
    button.disabled = false;
  }
}

function openDeleteTags(repository, digest, tags) {
  const dialog = document.getElementById("delete-tags");
  fill(dialog, "digest", digest);
  fill(dialog, "repository", repository);
  fill(dialog, "tags", tags.join(", "));
  fill(dialog, "error", "");
  dialog.querySelector("#delete-tags-digest").checked = false;
  dialog.dataset.repository = repository;
  dialog.dataset.digest = digest;
  dialog.dataset.tags = JSON.stringify(tags);
  dialog.showModal();
}

async function deleteTags(dialog) {
  const repository = dialog.dataset.repository;
  try {
    if (dialog.querySelector("#delete-tags-digest").checked) {
      // Deleting the digest deletes its tags with it.
      await api("DELETE", repositoryPath(repository, `/digests/${dialog.dataset.digest}`));
    } else {
      for (const tag of JSON.parse(dialog.dataset.tags)) {
        await api("DELETE", repositoryPath(repository, `/tags/${encodeURIComponent(tag)}`));
      }
    }
    dialog.close();
    await refresh();
  } catch (error) {
    fill(dialog, "error", error.message);
  }
}

function showEstimate() {
  const dialog = document.getElementById("empty-garbage");
  const source = document.getElementById("gc-open");
  const untagged = dialog.querySelector("#gc-untagged").checked;
  fill(dialog, "estimate", (untagged ? source.dataset.withUntagged : source.dataset.blobsOnly) || "nothing known");
}

async function startGarbageCollection(dialog) {
  const type = dialog.querySelector("#gc-untagged").checked
    ? "untagged manifests and unreferenced blobs"
    : "unreferenced blobs only";
  try {
    await api("POST", registryPath("/garbage-collection"), { type });
    dialog.close();
    await refresh();
    const cancel = document.getElementById("gc-cancel");
    if (cancel) cancel.focus();
  } catch (error) {
    fill(dialog, "error", error.message);
  }
}

// -- the clock -------------------------------------------------------------------------------
async function moveClock(body, label) {
  const status = document.getElementById("clock-status");
  try {
    const clock = await api("POST", "/_docrsim/clock", body);
    // As the clock bar shows it: "2026-03-02 09:11:00 UTC".
    status.textContent = `${label}: now ${clock.now.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC")}`;
    await refresh();
  } catch (error) {
    status.textContent = error.message;
  }
}

// -- wiring ----------------------------------------------------------------------------------
document.addEventListener("click", async (event) => {
  const target = event.target.closest("button, a");
  if (!target) {
    closeMenus(null);
    return;
  }
  const panel = target.closest(".versions-panel");
  if (target.matches("button.expand")) {
    const name = target.closest("tbody.repo").dataset.repository;
    if (target.getAttribute("aria-expanded") === "true") {
      expanded.delete(name);
      hideVersions(target);
    } else {
      expanded.add(name);
      await showVersions(target);
    }
  } else if (target.matches(".versions-panel .pager a")) {
    event.preventDefault();
    const button = target.closest("tbody.repo").querySelector("button.expand");
    await showVersions(button, target.getAttribute("href"));
  } else if (target.matches(".menu-button")) {
    const open = target.getAttribute("aria-expanded") !== "true";
    closeMenus(target);
    target.setAttribute("aria-expanded", String(open));
    const menu = document.getElementById(target.getAttribute("aria-controls"));
    menu.hidden = !open;
    if (open) menu.querySelector("button:not([disabled])").focus();
  } else if (target.dataset.action === "delete-selected") {
    const digests = [...panel.querySelectorAll(".select-version:checked")].map((b) => b.value);
    openConfirmDelete(panel.dataset.repository, digests);
  } else if (target.dataset.action === "delete-digest" || target.dataset.action === "delete-tags") {
    const row = target.closest("tr");
    closeMenus(null);
    if (target.dataset.action === "delete-digest") {
      openConfirmDelete(panel.dataset.repository, [row.dataset.digest]);
    } else {
      openDeleteTags(panel.dataset.repository, row.dataset.digest, row.dataset.tags.split(" ").filter(Boolean));
    }
  } else if (target.id === "confirm-destroy") {
    await destroy(target.closest("dialog"));
  } else if (target.id === "delete-tags-confirm") {
    await deleteTags(target.closest("dialog"));
  } else if (target.id === "gc-open") {
    const dialog = document.getElementById("empty-garbage");
    dialog.querySelector("#gc-untagged").checked = true;
    fill(dialog, "error", "");
    showEstimate();
    dialog.showModal();
  } else if (target.id === "gc-start") {
    await startGarbageCollection(target.closest("dialog"));
  } else if (target.id === "gc-cancel") {
    target.disabled = true;
    try {
      await api("PUT", registryPath(`/garbage-collection/${target.dataset.uuid}`), { cancel: true });
      await refresh();
    } catch (error) {
      document.getElementById("gc-error").textContent = error.message;
      target.disabled = false;
    }
  } else if (target.dataset.advance) {
    const minutes = Number(target.dataset.advance) / 60;
    await moveClock({ advance_seconds: Number(target.dataset.advance) },
      `Advanced ${minutes} minute${minutes === 1 ? "" : "s"}`);
  } else if (target.hasAttribute("data-until-idle")) {
    await moveClock({ until_idle: true }, "Ran until idle");
  } else if (target.id === "forget-token") {
    document.cookie = `${TOKEN_COOKIE}=; path=/; max-age=0; SameSite=Strict`;
    location.reload();
  }
});

document.addEventListener("change", (event) => {
  const panel = event.target.closest(".versions-panel");
  if (event.target.matches(".select-all")) {
    for (const box of panel.querySelectorAll(".select-version")) box.checked = event.target.checked;
    updateSelection(panel);
  } else if (event.target.matches(".select-version")) {
    updateSelection(panel);
  } else if (event.target.id === "gc-untagged") {
    showEstimate();
  }
});

document.addEventListener("input", (event) => {
  if (event.target.id === "confirm-name") {
    document.getElementById("confirm-destroy").disabled = event.target.value !== event.target.dataset.expected;
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && event.target.closest(".menu")) {
    const menu = event.target.closest(".menu");
    const button = document.querySelector(`[aria-controls="${menu.id}"]`);
    closeMenus(null);
    button.focus();
  }
});

document.addEventListener("submit", (event) => {
  if (event.target.id !== "token-form") return;
  event.preventDefault();
  const value = document.getElementById("token-input").value.trim();
  if (!value) return;
  document.cookie = `${TOKEN_COOKIE}=${encodeURIComponent(value)}; path=/; SameSite=Strict`;
  location.reload();
});

schedulePoll();
