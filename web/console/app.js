// The console's shell: who is logged in, the navigation their roles allow, and the hash router.
import { api, get, del, session, ApiError } from './api.js';
import { t, lang, setLang } from './i18n.js';
import { state, setOperator, can, h, field, showError } from './ui.js';
import { PAGES, NAV } from './pages.js';

state.roles = JSON.parse(document.getElementById('cg-roles').textContent);
const main = document.getElementById('main');

function landing() {
  const first = NAV.find((entry) => can(entry.perm));
  return first ? '#/' + first.route : '#/account';
}

function renderShell() {
  document.documentElement.lang = lang() === 'en' ? 'en' : 'zh-CN';
  document.querySelector('.skip').textContent = t('skip');
  document.getElementById('brand').textContent = t('app');
  document.getElementById('nav').setAttribute('aria-label', t('main_nav'));
  document.getElementById('lang').textContent = lang() === 'en' ? '中文' : 'English';
  document.getElementById('lang').setAttribute('lang', lang() === 'en' ? 'zh-CN' : 'en');
  document.getElementById('logout').textContent = t('logout');
  const top = document.getElementById('top');
  top.hidden = !state.me;
  if (!state.me) return;
  const [open, close, sep] = lang() === 'en' ? [' (', ')', ', '] : ['（', '）', '、'];
  document.getElementById('who').textContent = `${state.me.name || state.me.username}${open}${state.me.roles.map((r) => t('role.' + r)).join(sep) || t('no_roles')}${close}`;
  const current = location.hash.slice(2).split('?')[0].split('/')[0] || '';
  document.getElementById('nav').replaceChildren(h('ul', {}, NAV.filter((entry) => can(entry.perm)).map((entry) =>
    h('li', {}, h('a', { href: '#/' + entry.route, 'aria-current': entry.route === current ? 'page' : false }, t('nav.' + entry.route))))));
}

function loginPage(message) {
  document.title = t('login') + ' · ' + t('app');
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const totp = h('input', { name: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '16' });
  const totpField = field(t('totp'), totp, t('totp_hint'));
  totpField.hidden = true;
  const status = h('div', { 'aria-live': 'assertive' }, message ? h('p', { class: 'error', role: 'alert' }, message) : null);
  const submit = h('button', { type: 'submit', class: 'primary' }, t('login'));
  const form = h('form', { class: 'login card', novalidate: true }, h('h1', {}, t('app')), h('h2', {}, t('login')), status,
    field(t('username'), username), field(t('password'), password), totpField, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const body = { username: username.value.trim(), password: password.value };
      if (!totpField.hidden && totp.value.trim()) {
        const code = totp.value.trim();
        if (/^\d{6}$/.test(code)) body.totp = code; else body.recovery_code = code;
      }
      const answer = await api('POST', '/admin/v1/auth/login', body);
      session.save(answer.access_token, answer.session_id);
      setOperator(answer.operator);
      location.hash = landing();
      route();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'totp_required') {
        totpField.hidden = false;
        status.replaceChildren(h('p', { class: 'note', role: 'status' }, error.message));
        totp.focus();
      } else {
        showError(error, status);
      }
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  username.focus();
}

let renderSeq = 0;
async function route() {
  renderShell();
  if (!session.token || !state.me) return loginPage();
  const [name, ...args] = location.hash.slice(2).split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  const page = PAGES[name];
  if (!page) { location.replace(landing()); return route(); }
  const seq = ++renderSeq;
  const view = h('div', { class: 'page' });
  try {
    await page(view, ...args);
    if (seq !== renderSeq) return;
    main.replaceChildren(view);
  } catch (error) {
    if (seq !== renderSeq) return;
    if (error instanceof ApiError && error.status === 401) return loginPage(t('session_ended'));
    const box = h('div', { class: 'page' });
    showError(error, box);
    main.replaceChildren(box);
  }
}

export function rerender() { return route(); }
window.addEventListener('cg:rerender', route);
window.addEventListener('hashchange', () => { route().then(() => main.focus({ preventScroll: true })); });
window.addEventListener('cg:logged-out', () => { setOperator(null); });
document.getElementById('lang').addEventListener('click', () => { setLang(lang() === 'en' ? 'zh-CN' : 'en'); route(); });
document.getElementById('logout').addEventListener('click', async () => {
  try { if (session.id) await del('/admin/v1/me/sessions/' + encodeURIComponent(session.id)); } catch (error) { /* ended already */ }
  session.clear();
  setOperator(null);
  location.hash = '';
  loginPage();
  renderShell();
});

async function boot() {
  if (session.token) {
    try { setOperator(await get('/admin/v1/me')); } catch (error) { session.clear(); }
  }
  await route();
}
boot();
