/**
 * Feed URLs may carry credentials (userinfo, `?apikey=`): wherever one is logged, returned by the API,
 * put on a span or in an error message, it goes through here first.
 */

const MASK = '***';
/** Query parameter names whose values are secrets (compared lower-case, `-` read as `_`). */
const SECRET_PARAM =
  /^(api_?key|key|token|auth|authorization|secret|client_secret|password|passwd|pwd|sig|signature|access_token|refresh_token|id_token|session|sessionid|credential|credentials|private_key|x_api_key|code)$|(_token|_secret|_key|_password|_sig)$/;

export function isSecretParam(name: string): boolean {
  return SECRET_PARAM.test(name.toLowerCase().replaceAll('-', '_'));
}

/** The URL with userinfo and secret-looking query values masked; text that is no URL is masked by pattern. */
export function redactUrl(raw: string): string {
  return redactedUrl(raw).text;
}

/**
 * redactUrl's text, with the parsed URL it came from (undefined when `raw` is no URL) for callers that
 * also need its parts (host, port, scheme): one parse instead of two.
 */
export function redactedUrl(raw: string): { text: string; url?: URL } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { text: redactLooseUrl(raw) };
  }
  if (url.username || url.password) {
    url.username = MASK;
    url.password = '';
  }
  for (const name of new Set(url.searchParams.keys())) {
    if (isSecretParam(name)) url.searchParams.set(name, MASK);
  }
  // URLSearchParams encodes *: keep the mask readable.
  return { text: url.toString().replaceAll('%2A%2A%2A', MASK), url };
}

/**
 * Free text (error messages): every URL in it redacted, and every known secret value (header values,
 * passwords) replaced wherever it appears.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (match) => redactUrl(match));
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(MASK);
  }
  return out;
}

function redactLooseUrl(text: string): string {
  return text
    .replace(/(\/\/)[^/@\s]+@/g, `$1${MASK}@`)
    .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (match, sep: string, name: string) => (isSecretParam(name) ? `${sep}${name}=${MASK}` : match));
}
