import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123164035_initial } from './Migration20261123164035_initial.js';
import { Migration20261125120000_dropRunEventsFound } from './Migration20261125120000_dropRunEventsFound.js';
import { Migration20261125130000_odds_movement } from './Migration20261125130000_odds_movement.js';
import { Migration20261125140000_replica_presence } from './Migration20261125140000_replica_presence.js';
import { Migration20261126010000_volume_drop } from './Migration20261126010000_volume_drop.js';
import { Migration20261126020000_scheduler_next_run } from './Migration20261126020000_scheduler_next_run.js';
import { Migration20261126030000_odds_fillfactor } from './Migration20261126030000_odds_fillfactor.js';
import { Migration20261126040000_odds_natural_primary_key } from './Migration20261126040000_odds_natural_primary_key.js';
import { Migration20261126050000_sporting_events } from './Migration20261126050000_sporting_events.js';
import { Migration20261206010000_step_reason } from './Migration20261206010000_step_reason.js';
import { Migration20261206020000_bookmakers_and_matching } from './Migration20261206020000_bookmakers_and_matching.js';
import { Migration20261206030000_browser_reasons } from './Migration20261206030000_browser_reasons.js';
import { Migration20261206040000_step_captures } from './Migration20261206040000_step_captures.js';
import { Migration20261207010000_implausible_markets } from './Migration20261207010000_implausible_markets.js';
import { Migration20261207020000_frozen_bookmakers } from './Migration20261207020000_frozen_bookmakers.js';
import { Migration20261207030000_coverage } from './Migration20261207030000_coverage.js';
import { Migration20261207040000_outlier_prices } from './Migration20261207040000_outlier_prices.js';
import { Migration20261207050000_cancelled_runs } from './Migration20261207050000_cancelled_runs.js';
import { Migration20261207060000_step_replica } from './Migration20261207060000_step_replica.js';
import { Migration20261207070000_platform_locks } from './Migration20261207070000_platform_locks.js';
import { Migration20261207080000_step_attempts } from './Migration20261207080000_step_attempts.js';

/** Every migration, in order; explicit so the build and the test runner load the same modules (no folder scan). */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261123164035_initial', class: Migration20261123164035_initial },
  { name: 'Migration20261125120000_dropRunEventsFound', class: Migration20261125120000_dropRunEventsFound },
  { name: 'Migration20261125130000_odds_movement', class: Migration20261125130000_odds_movement },
  { name: 'Migration20261125140000_replica_presence', class: Migration20261125140000_replica_presence },
  { name: 'Migration20261126010000_volume_drop', class: Migration20261126010000_volume_drop },
  { name: 'Migration20261126020000_scheduler_next_run', class: Migration20261126020000_scheduler_next_run },
  { name: 'Migration20261126030000_odds_fillfactor', class: Migration20261126030000_odds_fillfactor },
  { name: 'Migration20261126040000_odds_natural_primary_key', class: Migration20261126040000_odds_natural_primary_key },
  { name: 'Migration20261126050000_sporting_events', class: Migration20261126050000_sporting_events },
  { name: 'Migration20261206010000_step_reason', class: Migration20261206010000_step_reason },
  { name: 'Migration20261206020000_bookmakers_and_matching', class: Migration20261206020000_bookmakers_and_matching },
  { name: 'Migration20261206030000_browser_reasons', class: Migration20261206030000_browser_reasons },
  { name: 'Migration20261206040000_step_captures', class: Migration20261206040000_step_captures },
  { name: 'Migration20261207010000_implausible_markets', class: Migration20261207010000_implausible_markets },
  { name: 'Migration20261207020000_frozen_bookmakers', class: Migration20261207020000_frozen_bookmakers },
  { name: 'Migration20261207030000_coverage', class: Migration20261207030000_coverage },
  { name: 'Migration20261207040000_outlier_prices', class: Migration20261207040000_outlier_prices },
  { name: 'Migration20261207050000_cancelled_runs', class: Migration20261207050000_cancelled_runs },
  { name: 'Migration20261207060000_step_replica', class: Migration20261207060000_step_replica },
  { name: 'Migration20261207070000_platform_locks', class: Migration20261207070000_platform_locks },
  { name: 'Migration20261207080000_step_attempts', class: Migration20261207080000_step_attempts },
];
