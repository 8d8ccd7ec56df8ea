-- Several bot processes share the headlines: each claims the ones it posts, under a lease,
-- so a headline is posted once and one whose poster died is posted by another.
ALTER TABLE headlines ADD COLUMN claimed_by TEXT;
ALTER TABLE headlines ADD COLUMN claimed_until DOUBLE PRECISION;
