import { PlatformError } from '../../src/platforms/adapter.js';

/** The PlatformError a scrape fails with; anything else it throws is rethrown, and a scrape that succeeds is an error. */
export async function platformFailure(scrape: Promise<unknown>): Promise<PlatformError> {
  try {
    await scrape;
  } catch (error) {
    if (error instanceof PlatformError) return error;
    throw error;
  }
  throw new Error('the scrape succeeded');
}
