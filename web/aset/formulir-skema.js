// A form drawn from a command's JSON Schema (GET /workflow/v1/actions) and its body read back.
// Long text → textarea, short → input, date → date input, list of text → textarea one item per
// line, uuid → text input, a single allowed value → hidden, several → select. Labels are the
// schema's Indonesian `title`s; each field sits in data-field="<name>" for showProblem().
import { el } from "/aset/app.js";
import { toOfficeIso } from "/aset/petugas.js";

const LONG_TEXT = 200;

/** The schema without Optional's anyOf [X, null] wrapper. */
function plain(schema) {
  if (!schema.anyOf) return schema;
  const inner = schema.anyOf.find((option) => option.type !== "null") || {};
  return { ...inner, title: schema.title, description: schema.description, default: schema.default };
}

function choicesOf(schema) {
  if (schema.const !== undefined) return [schema.const];
  return schema.enum || null;
}

/** What control a property gets. */
export function controlKind(property) {
  const schema = plain(property);
  const choices = choicesOf(schema);
  if (choices) return choices.length === 1 ? "fixed" : "choice";
  if (schema.type === "array") return "lines";
  if (schema.type === "boolean") return "check";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.format === "date") return "date";
  if (schema.format === "date-time") return "datetime";
  if (schema.format === "uuid") return "uuid";
  return (schema.maxLength ?? Infinity) > LONG_TEXT ? "long" : "short";
}

function control(kind, name, id, schema, required) {
  const common = { id, name, required: required || null };
  switch (kind) {
    case "long":
    case "lines":
      return el("textarea", { ...common, rows: kind === "lines" ? 4 : 5, maxlength: schema.maxLength ?? null });
    case "date":
      return el("input", { ...common, type: "date" });
    case "datetime":
      return el("input", { ...common, type: "datetime-local" });
    case "number":
      return el("input", { ...common, type: "number", inputmode: "numeric" });
    case "check":
      return el("input", { ...common, type: "checkbox" });
    case "choice":
      return el(
        "select",
        common,
        required ? null : el("option", { value: "" }, "—"),
        choicesOf(schema).map((value) => el("option", { value, selected: value === schema.default }, String(value)))
      );
    case "uuid":
      return el("input", { ...common, type: "text", spellcheck: "false", autocomplete: "off", placeholder: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" });
    default:
      return el("input", { ...common, type: "text", maxlength: schema.maxLength ?? null });
  }
}

/**
 * The fields of a body schema. `hidden` gives values the officer does not type (version);
 * `describe(name, value)` names a fixed value for people; `hints[name]` adds help under a label.
 */
export function schemaFields(bodySchema, { prefix, hidden = {}, hints = {}, describe = (n, v) => v }) {
  const required = new Set(bodySchema.required || []);
  const nodes = [];
  for (const [name, property] of Object.entries(bodySchema.properties || {})) {
    const schema = plain(property);
    if (name in hidden) {
      nodes.push(el("input", { type: "hidden", name, value: hidden[name] }));
      continue;
    }
    const kind = controlKind(property);
    const title = schema.title || name;
    if (kind === "fixed") {
      const value = choicesOf(schema)[0];
      nodes.push(
        el("div", { class: "kolom", "data-field": name },
          el("input", { type: "hidden", name, value }),
          el("p", { class: "tetap" }, el("strong", {}, `${title}: `), describe(name, value)))
      );
      continue;
    }
    const id = `${prefix}-${name}`;
    const input = control(kind, name, id, schema, required.has(name));
    const label = el("label", { for: id }, title, required.has(name) ? null : el("span", { class: "redup" }, " (boleh kosong)"));
    const help = hints[name] ? el("div", { class: "bantuan", id: `${id}-bantuan` }, hints[name]) : null;
    if (help) input.setAttribute("aria-describedby", help.id);
    const wrapper = kind === "check"
      ? el("div", { class: "kolom pilihan", "data-field": name }, el("label", { for: id }, input, " ", title), help)
      : el("div", { class: "kolom", "data-field": name }, label, help, input);
    nodes.push(wrapper);
  }
  return nodes;
}

/** The JSON body a schema form holds: empty fields left out (the server's default, or "Wajib diisi"). */
export function readBody(form, bodySchema) {
  const body = {};
  for (const [name, property] of Object.entries(bodySchema.properties || {})) {
    const input = form.elements.namedItem(name);
    if (!input) continue;
    const kind = controlKind(property);
    const value = input.type === "checkbox" ? input.checked : input.value;
    if (kind === "check") body[name] = value;
    else if (kind === "lines") body[name] = value.split("\n").map((line) => line.trim()).filter(Boolean);
    else if (value === "") continue;
    else if (kind === "number") body[name] = Number(value);
    else if (kind === "datetime") body[name] = toOfficeIso(value);
    else body[name] = value;
  }
  return body;
}

/** What the officer typed, to put back after the form is drawn again. */
export function draftOf(form) {
  const draft = {};
  for (const input of form.elements) {
    if (!input.name || input.type === "hidden" || input.type === "file") continue;
    draft[input.name] = input.type === "checkbox" ? input.checked : input.value;
  }
  return draft;
}

export function restoreDraft(form, draft) {
  for (const [name, value] of Object.entries(draft || {})) {
    const input = form.elements.namedItem(name);
    if (!input || input.type === "hidden") continue;
    if (input.type === "checkbox") input.checked = value;
    else input.value = value;
  }
}
