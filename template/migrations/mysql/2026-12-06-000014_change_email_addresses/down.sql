ALTER TABLE verification_codes DROP COLUMN new_email;
