import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123164035_initial } from './Migration20261123164035_initial.js';
import { Migration20261125120000_dropRunEventsFound } from './Migration20261125120000_dropRunEventsFound.js';

/** Every migration, in order; explicit so the build and the test runner load the same modules (no folder scan). */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261123164035_initial', class: Migration20261123164035_initial },
  { name: 'Migration20261125120000_dropRunEventsFound', class: Migration20261125120000_dropRunEventsFound },
];
