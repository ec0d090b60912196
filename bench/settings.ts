/**
 * What every benchmark prints beside its figures: the settings it changed from the defaults of `npm start`. Variables
 * that only say where it runs (ports, hosts, URLs, directories, state paths, namespaces, replica names) are left out;
 * a secret is printed as set, never its value.
 */
const WHERE_IT_RUNS = /(_PORT|_HOST|_URL|_DIR|_PATH|^SEPAL_HOME|^SEPAL_NAMESPACE|_REPLICA_ID)$/;
const SECRETS = /(KEY|PASSWORD|SECRET)$/;

/** `NAME=value` for every setting `env` (a benchmark's overrides, not the whole environment) sets; empty is unset. */
export function changedSettings(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value !== undefined && value !== '' && !WHERE_IT_RUNS.test(name))
    .map(([name, value]) => (SECRETS.test(name) ? `${name}=(set)` : `${name}=${value}`))
    .sort();
}

/** Prints `label: settings changed from the defaults of npm start: ...` (or `none`). */
export function printSettings(label: string, env: Record<string, string | undefined>, note = ''): void {
  const changed = changedSettings(env);
  console.log(
    `${label}: settings changed from the defaults of \`npm start\`: ${changed.length ? changed.join(', ') : 'none'}` +
      `${note ? ` (${note})` : ''}`,
  );
}
