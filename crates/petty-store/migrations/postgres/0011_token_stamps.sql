-- Revocation that takes effect at once (issue 13).
--
-- An access token is refused when it was issued before its user's or its membership's
-- `tokens_valid_after` (Unix epoch milliseconds; 0: never stamped). A password change stamps
-- the user; a sign-out, a refresh token's replay and a role change stamp the membership.
-- Removing a member deletes the membership, which refuses every token for it.
ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE memberships ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_keys_by_maker ON api_keys (household_id, created_by);
