-- Jobs that run once and survive restarts (issue 12).
--
-- Ingest leaves its work for the jobs on the device row, in the same transaction as the
-- readings: the oldest event time not yet judged by the alarm rules, and the span of event
-- times not yet analysed. `work_version` counts the transactions that left work, so a job
-- that finishes clears only the work it saw. A job claims a device with a lease (an expiry and
-- a token), so on N nodes each device is worked on by one node at a time, and a node that died
-- mid-pass gives its work back when the lease runs out.
ALTER TABLE devices ADD COLUMN work_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN alarms_from BIGINT;
ALTER TABLE devices ADD COLUMN alarms_lease_until BIGINT;
ALTER TABLE devices ADD COLUMN alarms_lease_token BIGINT;
ALTER TABLE devices ADD COLUMN analysis_from BIGINT;
ALTER TABLE devices ADD COLUMN analysis_to BIGINT;
ALTER TABLE devices ADD COLUMN analysis_lease_until BIGINT;
ALTER TABLE devices ADD COLUMN analysis_lease_token BIGINT;

-- An alarm raised from readings that were already in the past (a backfill, an import, a
-- device catching up after an outage) is recorded and shown, but pages nobody.
ALTER TABLE alarms ADD COLUMN quiet BOOLEAN NOT NULL DEFAULT FALSE;
-- An incident is known by where, what and when it began: judging the same readings again
-- (after a crash, or on another node) finds it instead of raising it twice.
CREATE INDEX alarms_by_start ON alarms (household_id, source, alarm_type, first_at);

-- Named leases for jobs that are not per device (retention, the silence sweep, ...): one
-- row per job, taken by one node at a time.
CREATE TABLE job_leases (
    job         TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    lease_until BIGINT NOT NULL,
    last_run    BIGINT
);
