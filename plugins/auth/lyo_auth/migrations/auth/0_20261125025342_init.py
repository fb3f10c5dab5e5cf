from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "auth_user" (
    "id" UUID NOT NULL PRIMARY KEY,
    "email" VARCHAR(320) NOT NULL UNIQUE,
    "password_hash" VARCHAR(255) NOT NULL,
    "display_name" VARCHAR(100) NOT NULL,
    "bio" TEXT NOT NULL,
    "timezone" VARCHAR(64) NOT NULL,
    "locale" VARCHAR(35) NOT NULL,
    "avatar_name" VARCHAR(255),
    "avatar_url" VARCHAR(1024),
    "preferences" JSONB NOT NULL,
    "is_active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "last_login_at" TIMESTAMPTZ,
    "password_changed_at" TIMESTAMPTZ,
    "deactivated_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_auth_user_created_6a0cc9" ON "auth_user" ("created_at");
COMMENT ON TABLE "auth_user" IS 'An account and its public profile.';
        CREATE TABLE IF NOT EXISTS "auth_password_reset" (
    "id" UUID NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_at" TIMESTAMPTZ,
    "user_id" UUID NOT NULL REFERENCES "auth_user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_auth_passwo_user_id_2183e4" ON "auth_password_reset" ("user_id", "used_at");
COMMENT ON TABLE "auth_password_reset" IS 'A single-use password reset token, stored as its SHA-256.';
        CREATE TABLE IF NOT EXISTS "auth_session" (
    "id" UUID NOT NULL PRIMARY KEY,
    "created_at" TIMESTAMPTZ NOT NULL,
    "last_used_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "revoked_reason" VARCHAR(32),
    "user_agent" VARCHAR(255),
    "ip" VARCHAR(64),
    "user_id" UUID NOT NULL REFERENCES "auth_user" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_auth_sessio_user_id_c91637" ON "auth_session" ("user_id", "revoked_at");
COMMENT ON TABLE "auth_session" IS 'A sign-in: one family of refresh tokens, revoked as a whole.';
        CREATE TABLE IF NOT EXISTS "auth_refresh_token" (
    "id" UUID NOT NULL PRIMARY KEY,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "consumed_at" TIMESTAMPTZ,
    "revoked_at" TIMESTAMPTZ,
    "session_id" UUID NOT NULL REFERENCES "auth_session" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_auth_refres_session_37d68a" ON "auth_refresh_token" ("session_id");
COMMENT ON TABLE "auth_refresh_token" IS 'A refresh token, stored as its SHA-256.';
        CREATE TABLE IF NOT EXISTS "auth_user_role" (
    "id" UUID NOT NULL PRIMARY KEY,
    "role" VARCHAR(50) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "user_id" UUID NOT NULL REFERENCES "auth_user" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_auth_user_r_user_id_6c2515" UNIQUE ("user_id", "role")
);
CREATE INDEX IF NOT EXISTS "idx_auth_user_r_role_f75aa4" ON "auth_user_role" ("role");
COMMENT ON TABLE "auth_user_role" IS 'One role granted to one user.';
        -- aerich ignores Meta.constraints: CHECK constraints are written here by hand
        -- (mirrored by the model validators in lyo_auth/models.py)
        ALTER TABLE "auth_user" ADD CONSTRAINT "auth_user_email_normalized"
            CHECK ("email" = lower("email"));
        ALTER TABLE "auth_user" ADD CONSTRAINT "auth_user_display_name_length"
            CHECK (char_length("display_name") BETWEEN 1 AND 100);
        ALTER TABLE "auth_user" ADD CONSTRAINT "auth_user_bio_length"
            CHECK (char_length("bio") <= 2000);
        ALTER TABLE "auth_user_role" ADD CONSTRAINT "auth_user_role_name"
            CHECK ("role" ~ '^[a-z][a-z0-9_-]{0,49}$');
        ALTER TABLE "auth_session" ADD CONSTRAINT "auth_session_revoked_reason"
            CHECK (("revoked_at" IS NULL) = ("revoked_reason" IS NULL));
        ALTER TABLE "auth_refresh_token" ADD CONSTRAINT "auth_refresh_token_lifetime"
            CHECK ("expires_at" > "created_at");
        ALTER TABLE "auth_password_reset" ADD CONSTRAINT "auth_password_reset_lifetime"
            CHECK ("expires_at" > "created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "auth_password_reset";
        DROP TABLE IF EXISTS "auth_refresh_token";
        DROP TABLE IF EXISTS "auth_session";
        DROP TABLE IF EXISTS "auth_user_role";
        DROP TABLE IF EXISTS "auth_user";"""


MODELS_STATE = (
    "eJztXF1z2jgU/Ssav2w7kzApafLQ3dkZktIt2yZ0CNnt9GOMsAVoIyTXkpuw3fz3lYRtLN"
    "uATQIB6pcMlu4V9jmydM+9Ij8sGIhR7QPk/Jb5bgdxJKxX4IdF4RjJD3ndB7LV86JOdSlg"
    "n8TWthda235s3ufCh44aeQAJR7LJRdzxsScwo8qxATimQ4IOA45ANADQAwDBbhA9AFwwH7"
    "kAcoAFB1dvG4f1k9OaGt5ljhxf+j94pIDibwGyBRsiMUK+HO/zV9mMqYvuEFeXny05rq9t"
    "OXJtKKyvysK7sQcYEdfADrvKTrfbYuLptuvr1us32lLdeN92GAnGdGbtTcSI0dg8CLBbUz"
    "6qb4go8qFAbgJHGhASoh81TR9CNgg/QPHdu7MGFw1gQBQb1m+DgDqKBKC/Sf15+Xt4awkz"
    "275sd+2rZte2rQx56hZSLIRNDqOKeEyFwu7H/XTcGSC61VJfcP620Xl2fPpcQ8C4GPq6U8"
    "Nl3WtHKODUVfMwQ1mTao8gH2XRPh9BPx9t0yuFurzp9eAdQbUGcK0xvLMJokP5Sr4Cpy8X"
    "gP1Xo6PxPn2p8Wby1Zy+vpdhT113KdhnMDs+UlCoGZ+B+bXsEXiM8qE2PVNQu6FrLfqwCv"
    "BRwwz52TKzAegXQN1tXTSvuo2LD2r4MeffiMar0W2qnrpunaRan52maIkHAX+3um+BugSf"
    "2pfN9MsS23U/Weqe5GrMbMpubegmMYmaoyaDZnTnYTncCjSbnhXNW01ztHmV5Djh9ggEh8"
    "tjxe9a+PXtcvFHwuUxg5DtJXVJzKHCusFNbsgRhYAmtG9kVImH9B2aaIBb8j4gdVAOoDqo"
    "vg4H2U1AZ62zF9mHt3EUnJxO8sldRJCYhmSNq/PG66al8e1D5+YWSqlgAK16WJ2lWmLbbN"
    "e4Pk63QAqHGhz1FOFbNKp10ECSPOqq4M/KyByj92CJyvGnxraIrQuInNCptKQp5PeFfqEt"
    "eY1dgDmQ+mVq/gsHvd4/Avd6v8oPirdgrFfxXk/ZKV10O0JUDqUu0Z0zglRCV1gPccS5es"
    "BKB1U6qNJBlQ7ajwCq0kE/Bc2J7bD062y6Vnpom3n20Xe50a1Cs+lZsbzNLIehaEnha3pV"
    "2nex9o3C/QzAJeXv1Wyc3YR1qQI259X2iOAI+Yz+TVCyUPompkCxyt6QHmL6CjCKpNUYkw"
    "lgA1PT8gMQLrRK1UKpSBlB+cW9VQdT8rgTNkudR9iQBeIg8jzUnvIqUA8R1w2nYhhA6gIX"
    "yefE36F6sBpoOI5E4QudfiFwoO9PtBrH+kt7PY7dXq90UTGx21R6+mn1dCX05gIupyl025"
    "RMQu53JIYIp+nCEIJALuwVqyNp3ypY3OZgsZIEPxPLcsXieVHr/Mxo1nOl7OiWcWumR4/r"
    "BdKjx/W56VHVZaZHddlHRp00562aj7XptX84109OCgAtreYirftMqLFXBuKp9f5B+/gZ/q"
    "p2XtXOd7Z2nqoH8izUZ6Hfm3cdRLSanYdyuh6+J2jfry+1oudlJq8SzdaFSZXovSiQUaEA"
    "Og4LqNB5CZV08II+wQ7wfDbAuXmTQi7LExVVSuJJUxJoDDEps+nHDntX2D+uHxUKXY8WxK"
    "5H6Z0//uVC2VMUGcfHwXurAq21xLAu5h6BE1tflwA87beHeL84KjLDpdVcvHWfiXcfsyzM"
    "XXQn8mEOzTeHrvUEC3K3+bFrpDMiBJ9dND4+N1Ia79uXf0TmCcTP37fPUkCrzM+/jJaa1E"
    "mfDUJ+3T1fF+rrlmqEOZCUwnjmsUGEp+HzBjbFIiv08fwF+jizPsPvMhbxSy/PKbf9yzqs"
    "ZTMMUQv8UjGe6bV/UL84qhdZN5TZgp2wnlk7PB8NkI+og3JE8p9X7cs5oZ7pls7+Y0eA/w"
    "DBXKxtNZkJmX6AicCU19TXPoWWUTAt3jrTu+SBKXrUAOmtE3NbV9pzVpwzxgiCdI6qTPql"
    "eOlLx3UREomgzUJ/1m6/N6A/a6XDkuuLs6Z8MTQP0ghPk0ity+5OH2neqObc30J34Lkrkm"
    "56VscbtoX1nHpoePep4w2EDTFd9XxD0rkqfW8P1dk3PE5Khb/oWoHxOUNUvG8z7/FBxZUo"
    "z3pXbG8b25nyapF6oPlveR5UGMz8P6Ad2+DnVgZzfkzwIKD275C7ebhKqjF76EP6sOmk6q"
    "MdRnYxVHyiGrNGK7fOHOG4tNZs+5Hl0oJzmyKgrIGmGrlAMH38Xg2TrTUvtc4pMycOwKu7"
    "+lqVnbep7BzNlMInJ9l6M+xPV3U+KVKSO5lfkTvJFOR2K/dSyfBHSr5URwyrI4a7esTw8U"
    "Ob+/8BNFo31w=="
)
