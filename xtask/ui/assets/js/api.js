// The JSON API: `api` (fetch with the errors said plainly) and the state the
// pages share: the last /api/info and /api/status answers.

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export async function api(path, body) {
  const init = { credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(`The server did not answer (${e.message}). Is \`cargo migrate ui\` still running?`, 0);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    let msg = (data && data.error) || `${res.status} ${res.statusText}`;
    if (res.status === 401) {
      msg = 'Not signed in: open the address `cargo migrate ui` printed (the one with ?token=…).';
    }
    throw new ApiError(msg, res.status);
  }
  return data;
}

export const state = {
  info: null,
  status: null,
};

export async function loadStatus() {
  state.status = await api('/api/status');
  return state.status;
}

export const isRemote = () => !!(state.info && state.info.target === 'remote');
export const databases = () => (state.info && state.info.databases) || [];
export const dbName = (binding) => {
  const d = databases().find((x) => x.binding === binding);
  return d ? d.name : binding;
};

export function latestVersion(db) {
  const fromInfo = state.info && (state.info.databases || []).find((d) => d.binding === db.binding);
  if (fromInfo && typeof fromInfo.latest === 'number') return fromInfo.latest;
  let latest = 0;
  for (const m of db.migrations || []) if (m.state !== 'missing' && m.version > latest) latest = m.version;
  return latest;
}
