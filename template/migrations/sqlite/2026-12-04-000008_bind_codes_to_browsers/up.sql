-- The browser a code was sent for (a SHA-256 of the nonce in its pending cookie): only
-- that browser's guesses count against the code, and only it is signed in by it.
-- NULL for a code an administrator sent, which any browser may enter.
ALTER TABLE verification_codes ADD COLUMN browser_hash TEXT;
