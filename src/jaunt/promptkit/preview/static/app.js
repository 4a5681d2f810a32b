// jaunt-prompts preview: draws the server's document, redrawn on every server-sent event.
// Every text from templates, fixtures and messages goes in through textContent, never as
// markup, so a template holding <script> shows as text.
"use strict";

let state = null;
let showWhitespace = false;
const collapsed = new Set();

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// Invisible characters made visible on demand: spaces, tabs, no-break and zero-width ones.
function visible(text) {
  if (!showWhitespace) return text;
  return text
    .replace(/ /g, "·")
    .replace(/\t/g, "→")
    .replace(/[\u00a0\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\ufeff]/g, (c) =>
      "⟨U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "⟩");
}

function textNode(text) {
  return document.createTextNode(visible(text));
}

function lineRow(line, number, changed, prefixChars, start, total) {
  const row = el("div", "line" + (changed ? " chg" : "") + (showWhitespace ? " ws" : ""));
  row.dataset.n = String(number);
  const end = start + line.length;
  const p = prefixChars;
  // p = how many leading characters of the message every request of its kind shares.
  if (p === null || p === 0 || p < start) {
    row.append(textNode(line));
  } else if (p >= total || p > end) {
    row.append(el("span", "pfx", visible(line)));
  } else {
    const cut = p - start;
    if (cut > 0) row.append(el("span", "pfx", visible(line.slice(0, cut))));
    const mark = el("span", "pfx-end");
    mark.title = "the prefix shared by every request of this kind ends here";
    row.append(mark, textNode(line.slice(cut)));
  }
  return row;
}

function prefixNote(msg) {
  const p = msg.prefix_chars;
  if (p === null) return "";
  if (p >= msg.content.length) return "all in the shared prefix";
  if (p === 0) return "after the shared prefix";
  const before = msg.content.slice(0, p).split("\n");
  return "shared prefix ends at line " + before.length + ", column " + (before[before.length - 1].length + 1);
}

function messageCard(msg, index) {
  const card = el("section", "msg");
  const head = el("div", "msg-head");
  head.append(el("span", "role", "#" + (index + 1) + " " + msg.role));
  head.append(el("span", "tok", msg.tokens + " tokens"));
  const note = prefixNote(msg);
  if (note) head.append(el("span", "prefix-note", note));
  if (msg.changed.length) head.append(el("span", "chg-note", msg.changed.length + " changed line" + (msg.changed.length === 1 ? "" : "s")));
  card.append(head);
  if (msg.findings.length) {
    const list = el("ul", "findings");
    for (const f of msg.findings) {
      const item = el("li", "finding " + f.severity);
      item.append(el("span", "where", f.where), el("span", "code", f.code), el("span", "fmsg", f.message));
      list.append(item);
    }
    card.append(list);
  }
  const pre = el("pre", "msg-text");
  const lines = msg.content.split("\n");
  const changed = new Set(msg.changed);
  let offset = 0;
  lines.forEach((line, i) => {
    pre.append(lineRow(line, i + 1, changed.has(i), msg.prefix_chars, offset, msg.content.length));
    offset += line.length + 1;
  });
  card.append(pre);
  return card;
}

function setColumn(column, name) {
  const box = el("div", "column");
  const fx = column.fixtures[name];
  const head = el("div", "column-head");
  head.append(el("span", "set-name", column.set));
  if (!fx) {
    head.append(el("span", "muted", "not rendered"));
    box.append(head);
    return box;
  }
  if (fx.ok) head.append(el("span", "tok", fx.chars + " chars · " + fx.tokens + " tokens"));
  head.append(el("span", "lint " + lintClass(fx.ok ? fx.lint : "FAILED"), fx.ok ? "lint: " + fx.lint : "FAILED"));
  box.append(head);
  if (!fx.ok) {
    const errors = el("pre", "errors");
    errors.textContent = fx.errors.join("\n");
    box.append(errors, el("p", "muted", "Fix the file and save: the page updates by itself."));
  }
  fx.messages.forEach((msg, i) => box.append(messageCard(msg, i)));
  return box;
}

function lintClass(status) {
  if (status.includes("FAILED") || status.includes("error")) return "bad";
  return status.includes("warning") ? "warn" : "good";
}

function fixtureSection(fixture) {
  const details = el("details", "fixture");
  details.id = "fx-" + fixture.name;
  details.open = !collapsed.has(fixture.name);
  details.addEventListener("toggle", () => {
    if (details.open) collapsed.delete(fixture.name); else collapsed.add(fixture.name);
  });
  const summary = el("summary");
  summary.append(el("span", "fx-name", fixture.name), el("span", "kind", fixture.kind), el("span", "muted", fixture.path));
  details.append(summary);
  const columns = el("div", "columns n" + state.sets.length);
  for (const column of state.sets) columns.append(setColumn(column, fixture.name));
  details.append(columns);
  return details;
}

function sideRow(fixture) {
  const row = el("tr");
  const cells = state.sets.map((c) => c.fixtures[fixture.name]);
  const link = el("a", "fx-link", fixture.name);
  link.href = "#fx-" + encodeURIComponent(fixture.name);
  const name = el("td");
  name.append(link);
  const changed = cells.some((fx) => fx && fx.messages.some((m) => m.changed.length));
  if (changed) row.className = "chg";
  const join = (pick) => cells.map((fx) => (fx && fx.ok ? pick(fx) : "-")).join(" / ");
  const lint = cells.map((fx) => (fx ? (fx.ok ? fx.lint : "FAILED") : "-")).join(" / ");
  row.append(name, el("td", "", fixture.kind), el("td", "num", join((fx) => fx.chars)),
    el("td", "num", join((fx) => fx.tokens)), el("td", "lint " + lintClass(lint), lint));
  return row;
}

function drawChange() {
  const box = document.getElementById("change");
  const c = state.last_change;
  box.replaceChildren();
  if (!c) { box.hidden = true; return; }
  box.hidden = false;
  box.className = "change" + (c.failed || c.errors.length ? " bad" : "");
  let text = c.at + "  " + (c.paths.join(", ") || "(change)") + " [" + c.set + "]: " +
    c.fixtures + " fixture" + (c.fixtures === 1 ? "" : "s") + " re-rendered in " + c.render_ms + " ms";
  if (c.since_save_ms !== null) text += " (" + c.since_save_ms + " ms after save)";
  if (c.changed.length) text += " · changed: " + c.changed.join(", ");
  else if (c.fixtures > c.failed) text += " · output unchanged";
  if (c.failed) text += " · " + c.failed + " FAILED";
  if (c.removed.length) text += " · removed: " + c.removed.join(", ");
  const line = el("span", "", text);
  line.title = text;
  box.append(line);
  for (const error of c.errors) box.append(el("div", "err", error));
}

function draw() {
  if (!state) return;
  const y = window.scrollY;
  document.body.dataset.version = String(state.version);
  document.getElementById("sets").textContent =
    state.sets.map((c) => c.set).join("  vs  ") + " · " + state.root + " · tokens: " + state.tokenizer;
  drawChange();
  const errors = document.getElementById("set-errors");
  errors.replaceChildren();
  for (const column of state.sets) {
    if (!column.errors.length) continue;
    const box = el("div", "set-error");
    box.append(el("strong", "", "set " + column.set + ": template errors"));
    box.append(el("pre", "errors", column.errors.join("\n")));
    errors.append(box);
  }
  const body = document.querySelector("#fixture-table tbody");
  body.replaceChildren(...state.fixtures.map(sideRow));
  const prefixes = document.getElementById("prefixes");
  prefixes.replaceChildren(el("h2", "", "cacheable prefix"));
  for (const column of state.sets) {
    for (const kind of Object.keys(column.prefix)) {
      const p = column.prefix[kind];
      prefixes.append(el("p", "prefix " + (p.cacheable ? "good" : "warn"), p.text));
    }
  }
  document.getElementById("main").replaceChildren(...state.fixtures.map(fixtureSection));
  window.scrollTo(0, y);
}

function connect() {
  const conn = document.getElementById("conn");
  const source = new EventSource("/events");
  source.addEventListener("state", (event) => {
    state = JSON.parse(event.data);
    draw();
  });
  source.onopen = () => { conn.textContent = "live"; conn.className = "conn on"; };
  source.onerror = () => { conn.textContent = "disconnected, retrying…"; conn.className = "conn off"; };
}

document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.getElementById("ws");
  toggle.addEventListener("change", () => { showWhitespace = toggle.checked; draw(); });
  connect();
});
