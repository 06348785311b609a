// The /admin/v1 API as the console calls it: bearer token from sessionStorage, the console's language
// as Accept-Language, problem+json turned into an ApiError, a progress bar while anything is in flight.
import { lang } from './i18n.js';

const TOKEN = 'citygate.console.token';
const SESSION = 'citygate.console.session';
let inFlight = 0;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || String(status));
    this.status = status;
    this.code = problem.code || '';
    this.problem = problem;
    this.errors = problem.errors || [];
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN); },
  get id() { return sessionStorage.getItem(SESSION); },
  save(token, id) { sessionStorage.setItem(TOKEN, token); sessionStorage.setItem(SESSION, id); },
  clear() { sessionStorage.removeItem(TOKEN); sessionStorage.removeItem(SESSION); },
};

function busy(delta) {
  inFlight += delta;
  const bar = document.getElementById('progress');
  if (!bar) return;
  bar.classList.toggle('on', inFlight > 0);
  bar.setAttribute('aria-busy', inFlight > 0 ? 'true' : 'false');
  document.body.dataset.busy = inFlight > 0 ? 'true' : 'false';
}

export async function api(method, path, body, { raw = false, headers = {} } = {}) {
  const sent = { 'Accept-Language': lang() === 'en' ? 'en' : 'zh-CN', ...headers };
  if (session.token) sent.Authorization = 'Bearer ' + session.token;
  if (body !== undefined) sent['Content-Type'] = 'application/json';
  busy(1);
  try {
    const response = await fetch(path, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401 && path !== '/admin/v1/auth/login') {
      const problem = await response.json().catch(() => ({}));
      session.clear();
      window.dispatchEvent(new CustomEvent('cg:logged-out'));
      throw new ApiError(401, problem);
    }
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({ title: response.statusText })));
    if (raw) return response;
    if (response.status === 204) return null;
    return await response.json();
  } finally {
    busy(-1);
  }
}

export const get = (path, query) => api('GET', query ? path + '?' + new URLSearchParams(
  Object.entries(query).filter(([, v]) => v !== '' && v !== undefined && v !== null && v !== false)) : path);
export const post = (path, body = {}) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path, body) => api('DELETE', path, body);
