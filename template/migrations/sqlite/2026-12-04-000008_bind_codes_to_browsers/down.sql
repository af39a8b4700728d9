ALTER TABLE verification_codes DROP COLUMN browser_hash;
