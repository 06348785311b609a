// Small DOM helpers shared by the pages: elements built without innerHTML (no markup from data),
// the operator's permissions, toasts, the confirmation dialog, and formatting in the console's language.
import { t, lang, text } from './i18n.js';

export const state = { me: null, perms: new Set(), roles: {} };

export function can(permission) { return state.perms.has(permission); }

export function setOperator(me) {
  state.me = me;
  state.perms = new Set(['own_account']);
  for (const role of me ? me.roles : []) for (const p of state.roles[role] || []) state.perms.add(p);
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

const SVG = 'http://www.w3.org/2000/svg';
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) el.setAttribute(key, value);
  append(el, children);
  return el;
}

let ids = 0;
export const uid = (prefix = 'f') => `${prefix}-${++ids}`;

// A labelled control: field(label, control) wires label[for] to the control's id.
export function field(label, control, hint) {
  control.id = control.id || uid();
  const hintEl = hint ? h('span', { class: 'hint', id: control.id + '-hint' }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

export function toast(message, kind = 'ok') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = 'toast on ' + kind;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.className = 'toast'; }, 6000);
}

export function showError(error, where) {
  const message = error && error.message ? error.message : String(error);
  const lines = (error.errors || []).map((e) => `${e.field}: ${e.message}`);
  if (where) {
    where.replaceChildren(h('div', { class: 'error', role: 'alert' }, message, lines.length ? h('ul', {}, lines.map((l) => h('li', {}, l))) : null));
  } else {
    toast(message, 'bad');
  }
}

// Ask before acting: resolves true when the operator confirms.
export function confirmAction(title, body) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-body').replaceChildren(body instanceof Node ? body : h('p', {}, body || ''));
  document.getElementById('confirm-ok').textContent = t('confirm');
  document.getElementById('confirm-cancel').textContent = t('cancel');
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = 'cancel';
    dialog.showModal();
    document.getElementById('confirm-ok').focus();
  });
}

// A button that disables itself and shows progress while its action runs.
export function actionButton(label, run, attrs = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    const before = button.textContent;
    button.textContent = before + '…';
    try { await run(button); } catch (error) { showError(error); } finally {
      button.disabled = false; button.removeAttribute('aria-busy'); button.textContent = before;
    }
  });
  return button;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(lang() === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function fmtFen(fen) { return '¥' + ((fen || 0) / 100).toFixed(2); }

export function todayShanghai() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
}

export function table(columns, rows, caption) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))),
    h('tbody', {}, rows.length ? rows.map((row) => h('tr', {}, columns.map((c) => h('td', {}, c.cell(row)))))
      : h('tr', {}, h('td', { colspan: String(columns.length), class: 'empty' }, t('empty'))))));
}

export function pager(page, onPage) {
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  if (pages <= 1) return null;
  return h('nav', { class: 'pager', 'aria-label': t('pages') },
    h('button', { type: 'button', disabled: page.page <= 1, onclick: () => onPage(page.page - 1) }, t('prev')),
    h('span', {}, t('page_of', { page: page.page, pages })),
    h('button', { type: 'button', disabled: page.page >= pages, onclick: () => onPage(page.page + 1) }, t('next')));
}

export function badge(label, kind = '') { return h('span', { class: 'badge ' + kind }, label); }

export function heading(title, ...extra) {
  document.title = title + ' · ' + t('app');
  return h('div', { class: 'page-head' }, h('h1', {}, title), ...extra);
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export { t, text, lang };
