-- The address a signed-in user asked to move to; the code went there, and the account
-- takes the address only when the code comes back. NULL for a code that confirms the
-- address an account signed up with.
ALTER TABLE verification_codes ADD COLUMN new_email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
