DROP TABLE IF EXISTS temp.covered_day;
-- An attempt of day D on channel C is covered when C's settlement files for
-- D through D + settle lag (?lag days) are all loaded: only then can its
-- absence from the channel's files mean anything.
-- Keyed: every attempt judged looks its day up here, and the days only grow.
CREATE TEMP TABLE covered_day (channel TEXT NOT NULL, day TEXT NOT NULL,
                               PRIMARY KEY (channel, day)) WITHOUT ROWID;
INSERT INTO covered_day
WITH loaded AS (
    SELECT DISTINCT channel, day FROM loaded_file
    WHERE role = 'settlement' AND replaced_by IS NULL
)
SELECT l.channel, l.day
FROM loaded l
WHERE (SELECT count(*) FROM loaded m
       WHERE m.channel = l.channel AND m.day BETWEEN l.day AND date(l.day, '+?lag days')) = ?lag + 1;
