-- How long each household keeps raw readings and rollups (issue 3), in days.
ALTER TABLE households ADD COLUMN readings_retention_days BIGINT NOT NULL DEFAULT 90;
ALTER TABLE households ADD COLUMN rollups_retention_days BIGINT NOT NULL DEFAULT 1825;
