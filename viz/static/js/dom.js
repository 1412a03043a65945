// Small DOM helpers: look-ups, element builders (HTML and SVG) and messages that follow
// the language switch.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const SVGNS = "http://www.w3.org/2000/svg";

function setProps(e, props) {
  if (!props) return;
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.setAttribute("class", v);
    else if (k === "text") e.textContent = v;
    else if (k === "dataset") {
      for (const [dk, dv] of Object.entries(v)) if (dv !== null && dv !== undefined) e.dataset[dk] = dv;
    } else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(e, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

/** An HTML element: h("td", {class: "num", text: "3"}), children after the props. */
export function h(tag, props, ...children) {
  const e = document.createElement(tag);
  setProps(e, props);
  return append(e, children);
}

/** An SVG element, as h() builds HTML ones. */
export function s(tag, props, ...children) {
  const e = document.createElementNS(SVGNS, tag);
  setProps(e, props);
  return append(e, children);
}

/** Show a message made by `make` (a function of the language of the moment) in `el`;
 * it is made again when the language switches (sayAgain). `null` clears it. */
export function say(el, make, cls) {
  el._say = make || null;
  if (make) {
    el.dataset.say = "";
    el.textContent = make();
  } else {
    delete el.dataset.say;
    el.textContent = "";
  }
  if (cls !== undefined) el.className = cls;
}

/** Every message shown with say(), made again (after a language switch). */
export function sayAgain() {
  for (const e of $$("[data-say]")) if (e._say) e.textContent = e._say();
}

export function sayIfChanged(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
