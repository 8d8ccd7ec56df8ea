-- Several bot processes share the headlines: the one that posts a headline claims it first,
-- under a lease, so it is posted once and one whose poster died is offered again.
ALTER TABLE headlines ADD COLUMN claimed_by TEXT;
ALTER TABLE headlines ADD COLUMN claim_until DOUBLE PRECISION;
