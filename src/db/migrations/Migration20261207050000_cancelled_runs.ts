import { Migration } from '@mikro-orm/migrations';

/** Status `cancelled` (POST /api/runs/:id/cancel): allowed by the status check, and final like every terminal status. */
export class Migration20261207050000_cancelled_runs extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "runs" drop constraint "runs_status_check";`);
    this.addSql(`alter table "runs" add constraint "runs_status_check" check ("status" in ('pending', 'running', 'completed', 'partial', 'failed', 'connection_failed', 'cancelled'));`);
    this.addSql(terminalIsFinal(`'completed', 'partial', 'failed', 'connection_failed', 'cancelled'`));
  }

  /** Refused while a cancelled run is stored (the status check): such runs are deleted or kept with this migration. */
  override async down(): Promise<void> {
    this.addSql(`alter table "runs" drop constraint "runs_status_check";`);
    this.addSql(`alter table "runs" add constraint "runs_status_check" check ("status" in ('pending', 'running', 'completed', 'partial', 'failed', 'connection_failed'));`);
    this.addSql(terminalIsFinal(`'completed', 'partial', 'failed', 'connection_failed'`));
  }

}

const terminalIsFinal = (terminal: string) => `create or replace function runs_terminal_is_final() returns trigger language plpgsql as $$
begin
  if old.status in (${terminal}) and new.status is distinct from old.status then
    raise exception 'run % is % and cannot become %', old.id, old.status, new.status using errcode = 'check_violation';
  end if;
  return new;
end $$;`;
