import type { JobListView, JobView } from '@sepal/contracts';
import { ServiceCallError, ServiceClient } from '@sepal/http-client';
import { cliHint } from './job-format';

/** A short id is looked for among the newest jobs only: this many pages of 1,000. */
const PREFIX_SCAN_PAGES = 5;
/** Shorter references are not looked up as a prefix (too many jobs would match). */
const MIN_PREFIX_LENGTH = 4;

export const jobPath = (id: string) => `/jobs/${encodeURIComponent(id)}`;

const isNotFound = (error: unknown) => error instanceof ServiceCallError && error.status === 404;

/** GET /jobs/:id on the registry, or null while it does not know the job (yet, or at all: an older registry). */
export async function findJob(registry: Pick<ServiceClient, 'get'>, id: string): Promise<JobView | null> {
  try {
    return await registry.get<JobView>(jobPath(id));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

/**
 * The job a user names: by its id, or by the start of it as the tables show it (among the newest jobs). A reference
 * that matches nothing fails with the registry's own message; one that matches several names them.
 */
export async function resolveJob(registry: ServiceClient, ref: string): Promise<JobView> {
  try {
    return await registry.get<JobView>(jobPath(ref));
  } catch (error) {
    if (!isNotFound(error) || ref.length < MIN_PREFIX_LENGTH) throw error;
    const matches = await jobsStartingWith(registry, ref).catch((scanError: unknown) => {
      throw isNotFound(scanError) ? error : scanError;
    });
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) {
      const named = matches.slice(0, 5).map((job) => job.id);
      throw new Error(
        `'${ref}' is the start of ${matches.length} job ids (${named.join(', ')}${matches.length > 5 ? ', …' : ''}): give more of the id`,
      );
    }
    throw error;
  }
}

async function jobsStartingWith(registry: ServiceClient, prefix: string): Promise<JobView[]> {
  const matches: JobView[] = [];
  let pageToken: string | null = null;
  for (let page = 0; page < PREFIX_SCAN_PAGES; page++) {
    const query = new URLSearchParams({ maxResults: '1000' });
    if (pageToken) query.set('pageToken', pageToken);
    const list: JobListView = await registry.get<JobListView>(`/jobs?${query}`);
    matches.push(...list.jobs.filter((job) => job.id.startsWith(prefix)));
    pageToken = list.nextPageToken;
    if (!pageToken) break;
  }
  return matches;
}

/** A refusal of the jobs API with its hint told as the CLI command to run (`sepal jobs retry <id>`). */
export async function withCliHints<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ServiceCallError && error.hint) {
      throw new ServiceCallError(
        error.service,
        error.method,
        error.url,
        error.status,
        error.detail,
        cliHint(error.hint),
      );
    }
    throw error;
  }
}
