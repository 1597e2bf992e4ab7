-- Rollups become one row per (device, period) with every metric's count, sum, minimum and
-- maximum as columns, instead of one row per metric: a transaction that stores readings then
-- upserts one row per device and period, not one per metric, which is what lets batch ingest
-- keep its rate with a dozen metrics. A metric absent in a period has count 0 and NULL bounds.
-- Existing summaries are carried over.

ALTER TABLE rollups RENAME TO rollups_by_metric;
CREATE TABLE rollups (
    device_id    BLOB NOT NULL,
    resolution   BIGINT NOT NULL,
    bucket       BIGINT NOT NULL,
    household_id BLOB NOT NULL,
    heart_rate_n BIGINT NOT NULL DEFAULT 0,
    heart_rate_sum REAL NOT NULL DEFAULT 0,
    heart_rate_min REAL,
    heart_rate_max REAL,
    respiration_rate_n BIGINT NOT NULL DEFAULT 0,
    respiration_rate_sum REAL NOT NULL DEFAULT 0,
    respiration_rate_min REAL,
    respiration_rate_max REAL,
    activity_level_n BIGINT NOT NULL DEFAULT 0,
    activity_level_sum REAL NOT NULL DEFAULT 0,
    activity_level_min REAL,
    activity_level_max REAL,
    activity_counts_n BIGINT NOT NULL DEFAULT 0,
    activity_counts_sum REAL NOT NULL DEFAULT 0,
    activity_counts_min REAL,
    activity_counts_max REAL,
    steps_n BIGINT NOT NULL DEFAULT 0,
    steps_sum REAL NOT NULL DEFAULT 0,
    steps_min REAL,
    steps_max REAL,
    temperature_c_n BIGINT NOT NULL DEFAULT 0,
    temperature_c_sum REAL NOT NULL DEFAULT 0,
    temperature_c_min REAL,
    temperature_c_max REAL,
    battery_pct_n BIGINT NOT NULL DEFAULT 0,
    battery_pct_sum REAL NOT NULL DEFAULT 0,
    battery_pct_min REAL,
    battery_pct_max REAL,
    rssi_n BIGINT NOT NULL DEFAULT 0,
    rssi_sum REAL NOT NULL DEFAULT 0,
    rssi_min REAL,
    rssi_max REAL,
    co_ppm_n BIGINT NOT NULL DEFAULT 0,
    co_ppm_sum REAL NOT NULL DEFAULT 0,
    co_ppm_min REAL,
    co_ppm_max REAL,
    co_raw_n BIGINT NOT NULL DEFAULT 0,
    co_raw_sum REAL NOT NULL DEFAULT 0,
    co_raw_min REAL,
    co_raw_max REAL,
    humidity_pct_n BIGINT NOT NULL DEFAULT 0,
    humidity_pct_sum REAL NOT NULL DEFAULT 0,
    humidity_pct_min REAL,
    humidity_pct_max REAL,
    ambient_temp_c_n BIGINT NOT NULL DEFAULT 0,
    ambient_temp_c_sum REAL NOT NULL DEFAULT 0,
    ambient_temp_c_min REAL,
    ambient_temp_c_max REAL,
    PRIMARY KEY (device_id, resolution, bucket)
) WITHOUT ROWID;

INSERT INTO rollups (device_id, resolution, bucket, household_id,
    heart_rate_n, heart_rate_sum, heart_rate_min, heart_rate_max, respiration_rate_n, respiration_rate_sum, respiration_rate_min, respiration_rate_max, activity_level_n, activity_level_sum, activity_level_min, activity_level_max, activity_counts_n, activity_counts_sum, activity_counts_min, activity_counts_max, steps_n, steps_sum, steps_min, steps_max, temperature_c_n, temperature_c_sum, temperature_c_min, temperature_c_max, battery_pct_n, battery_pct_sum, battery_pct_min, battery_pct_max, rssi_n, rssi_sum, rssi_min, rssi_max, co_ppm_n, co_ppm_sum, co_ppm_min, co_ppm_max, co_raw_n, co_raw_sum, co_raw_min, co_raw_max, humidity_pct_n, humidity_pct_sum, humidity_pct_min, humidity_pct_max, ambient_temp_c_n, ambient_temp_c_sum, ambient_temp_c_min, ambient_temp_c_max)
SELECT device_id, resolution, bucket, household_id,
       coalesce(sum(CASE WHEN metric = 'heart_rate' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'heart_rate' THEN total END), 0), min(CASE WHEN metric = 'heart_rate' THEN lo END), max(CASE WHEN metric = 'heart_rate' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'respiration_rate' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'respiration_rate' THEN total END), 0), min(CASE WHEN metric = 'respiration_rate' THEN lo END), max(CASE WHEN metric = 'respiration_rate' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'activity_level' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'activity_level' THEN total END), 0), min(CASE WHEN metric = 'activity_level' THEN lo END), max(CASE WHEN metric = 'activity_level' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'activity_counts' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'activity_counts' THEN total END), 0), min(CASE WHEN metric = 'activity_counts' THEN lo END), max(CASE WHEN metric = 'activity_counts' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'steps' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'steps' THEN total END), 0), min(CASE WHEN metric = 'steps' THEN lo END), max(CASE WHEN metric = 'steps' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'temperature_c' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'temperature_c' THEN total END), 0), min(CASE WHEN metric = 'temperature_c' THEN lo END), max(CASE WHEN metric = 'temperature_c' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'battery_pct' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'battery_pct' THEN total END), 0), min(CASE WHEN metric = 'battery_pct' THEN lo END), max(CASE WHEN metric = 'battery_pct' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'rssi' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'rssi' THEN total END), 0), min(CASE WHEN metric = 'rssi' THEN lo END), max(CASE WHEN metric = 'rssi' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'co_ppm' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'co_ppm' THEN total END), 0), min(CASE WHEN metric = 'co_ppm' THEN lo END), max(CASE WHEN metric = 'co_ppm' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'co_raw' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'co_raw' THEN total END), 0), min(CASE WHEN metric = 'co_raw' THEN lo END), max(CASE WHEN metric = 'co_raw' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'humidity_pct' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'humidity_pct' THEN total END), 0), min(CASE WHEN metric = 'humidity_pct' THEN lo END), max(CASE WHEN metric = 'humidity_pct' THEN hi END),
       coalesce(sum(CASE WHEN metric = 'ambient_temp_c' THEN n END), 0), coalesce(sum(CASE WHEN metric = 'ambient_temp_c' THEN total END), 0), min(CASE WHEN metric = 'ambient_temp_c' THEN lo END), max(CASE WHEN metric = 'ambient_temp_c' THEN hi END)
FROM rollups_by_metric
GROUP BY device_id, resolution, bucket, household_id;

DROP TABLE rollups_by_metric;
