/** The registry's own PostgreSQL schema; no other app reads it. */
export const REGISTRY_SCHEMA = 'registry';
