// What the officer pages share: the signed-in start of a page, the labels of stored ids
// (from /reporting/v1/vocabulary, never a copy kept here), badges and links to a case.
import { el, inGroup, requireOfficer, siteHeader, TIME_ZONE, vocabulary } from "/aset/app.js";

/** The officer, or off to the login page; the header filled. */
export function startOfficerPage() {
  const officer = requireOfficer();
  siteHeader();
  return officer;
}

let loading = null;
let loaded = null; // the vocabulary, once labels() has answered: badges() read the status groups

/** Labels for every stored id: kind, status, channel, category, role, step(kind, id); and
 * whether a status is in a group ("open", "waiting", "closed", "answered"). */
export function labels() {
  loading ||= vocabulary().then((words) => {
    loaded = words;
    const of = (terms) => {
      const map = new Map(terms.map((term) => [term.id, term.label]));
      return (id) => (id === null || id === undefined ? "–" : map.get(id) || id);
    };
    const steps = Object.fromEntries(
      Object.entries(words.steps).map(([kind, list]) => [kind, new Map(list.map((s) => [s.id, s]))])
    );
    return {
      words,
      kind: of(words.kinds),
      status: of(words.statuses),
      /** Whether a status belongs to a group of the vocabulary. */
      inGroup(group, status) {
        return inGroup(words, group, status);
      },
      channel: of(words.channels),
      category: of(words.categories),
      role: of(words.roles),
      /** Whether any of these roles works on cases (the analyst reads figures only). */
      worksOnCases(roles) {
        return words.roles.some((term) => term.works_on_cases && roles.includes(term.id));
      },
      /** "4. Disposisi" for a step id of this kind of case. */
      step(kind, id) {
        const step = steps[kind] && steps[kind].get(id);
        if (!id) return "–";
        return step ? `${step.number}. ${step.label}` : id;
      },
      /** The steps (of either SOP) at which this role acts. */
      stepsOf(role) {
        return Object.values(words.steps).flatMap((list) => list.filter((s) => s.per_case && s.actors.includes(role)));
      },
    };
  });
  return loading;
}

/** The page address of a case. */
export function caseHref(caseId) {
  return `/petugas/kasus?id=${encodeURIComponent(caseId)}`;
}

export function caseLink(caseId, text) {
  return el("a", { href: caseHref(caseId) }, text);
}

/** Badges for a case or work item: overdue, waiting for the complainant, closed (after labels()). */
export function badges({ overdue, waiting, status, status_label: statusLabel, breached, replied_at: replied }) {
  const words = loaded || { status_groups: [] };
  const list = [];
  if (replied) list.push(el("span", { class: "lencana balasan", title: replied }, "Pemohon membalas"));
  if (overdue) list.push(el("span", { class: "lencana terlambat" }, "Terlambat"));
  if (breached) list.push(el("span", { class: "lencana terlambat" }, "Lewat tenggat"));
  if (waiting || inGroup(words, "waiting", status)) {
    list.push(el("span", { class: "lencana menunggu" }, "Menunggu info pemohon"));
  } else if (statusLabel) {
    const closed = inGroup(words, "closed", status);
    list.push(el("span", { class: closed ? "lencana selesai" : "lencana" }, statusLabel));
  }
  return list;
}

/** A message at the top of a page section: "berhasil" or "galat". */
export function notice(kind, ...children) {
  const box = el(
    "div",
    { class: kind === "berhasil" ? "kotak-berhasil" : "kotak-galat", role: kind === "berhasil" ? "status" : "alert", tabindex: "-1" },
    ...children
  );
  return box;
}

// The office's zone, WIB, is UTC+7 all year (no daylight saving).
const OFFICE_OFFSET = "+07:00";

/** A datetime-local value ("2026-03-05T10:30") as an aware ISO string in WIB. */
export function toOfficeIso(local) {
  if (!local) return null;
  return `${local.length === 16 ? `${local}:00` : local}${OFFICE_OFFSET}`;
}

/** Now, in WIB, as a datetime-local value. */
export function officeNowLocal() {
  const text = new Date().toLocaleString("sv-SE", { timeZone: TIME_ZONE, hour12: false });
  return text.slice(0, 16).replace(" ", "T");
}
