from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "gamification_balance" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "points" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "gamification_balance" IS 'A user''s points: the sum of their ledger entries, kept in the same transaction.';
        CREATE TABLE IF NOT EXISTS "gamification_entry" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "points" INT NOT NULL,
    "reason" VARCHAR(200) NOT NULL,
    "rule" VARCHAR(64) NOT NULL,
    "award_key" VARCHAR(255) NOT NULL,
    "event_id" UUID,
    "scope" VARCHAR(64),
    "granted_by" VARCHAR(64),
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_gamificatio_rule_0cebfa" UNIQUE ("rule", "award_key")
);
CREATE INDEX IF NOT EXISTS "idx_gamificatio_user_id_0c3829" ON "gamification_entry" ("user_id", "id");
CREATE INDEX IF NOT EXISTS "idx_gamificatio_occurre_3f82f3" ON "gamification_entry" ("occurred_at");
COMMENT ON TABLE "gamification_entry" IS 'One award: ``points`` (negative for a revocation) to ``user_id`` by ``rule``.';
        CREATE TABLE IF NOT EXISTS "gamification_exclusion" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "reason" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "gamification_exclusion" IS 'A user kept off the boards: deactivated or erased (``reason``).';
        CREATE TABLE IF NOT EXISTS "gamification_journal" (
    "event_id" UUID NOT NULL PRIMARY KEY,
    "type" VARCHAR(128) NOT NULL,
    "user_id" VARCHAR(64),
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_gamificatio_type_286617" ON "gamification_journal" ("type", "occurred_at");
CREATE INDEX IF NOT EXISTS "idx_gamificatio_user_id_2d16a1" ON "gamification_journal" ("user_id");
COMMENT ON TABLE "gamification_journal" IS 'The qualifying events received, kept beyond the outbox''s retention: backfills';
        CREATE TABLE IF NOT EXISTS "gamification_streak" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "current" INT NOT NULL,
    "longest" INT NOT NULL,
    "last_day" DATE NOT NULL,
    "timezone" VARCHAR(64) NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "gamification_streak" IS 'Consecutive days (in the user''s time zone) with a qualifying event.';
        CREATE TABLE IF NOT EXISTS "gamification_unlock" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "achievement" VARCHAR(64) NOT NULL,
    "tier" INT NOT NULL,
    "unlocked_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_gamificatio_user_id_1e5709" UNIQUE ("user_id", "achievement", "tier")
);
COMMENT ON TABLE "gamification_unlock" IS 'An achievement tier a user reached; once per (user, achievement, tier).';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "gamification_exclusion";
        DROP TABLE IF EXISTS "gamification_journal";
        DROP TABLE IF EXISTS "gamification_streak";
        DROP TABLE IF EXISTS "gamification_balance";
        DROP TABLE IF EXISTS "gamification_unlock";
        DROP TABLE IF EXISTS "gamification_entry";"""


MODELS_STATE = (
    "eJztW21T4zYQ/isaf7kwkzKcE15KO50Bjva4OUjnCG3nOMZRbCVxcSRjyUB65b9XK9vxe+"
    "LQBELGX0Ky2pXsZ6V9VivxXRvisT2wTSxsRrePsYOpSbRD9F2jeAxfihWaSMOum20GscB9"
    "J2dn9BN2fS48bAqpM8AOJ1JkEW56tqu6kJZHyOfEe8eRy2wq+CESI4K4P0ZsAF9tDznEGh"
    "IPESo8m/AmuiWuQDYNFOVzIzkC5XIQeGYY1GKmHNWmwxX171P7zieGYEMidTw5yvWNFNvU"
    "Io+ERz/dW2NgE8dK4QvPYtgW9KIaDTFxVcPJCHu/KnV4gb5hMscf04yJOxEjiW9kI18SpE"
    "NCiYcFsRIgU99xQt9EouCppUB4Ppk+rhULLDLAvgOuAuvgMWKZZhgXna5xedo1DC3nxsgi"
    "gXwoMhmFKQDYKyTG+NFwCB2Kkfy5134KxonBCLRgwD+Ovpx8PPrS2GtvwYBMzqNgsl2ELb"
    "pqelJdYIGDThT+MeCB1/N4H9vDMyqKEY9tMoBL8XMAjwQx4vFaiODdWRXeQ3iCH37U9VZr"
    "X99p7R3stvf3dw92DqSuetx80/4Mpxyf/XZ20U37AwTghcQ0dy3Ax8Aij/wH2SLsMSmZ7S"
    "nLDP5WaLodfVmVN1a5ADyCrQ51JuHCm4F19+z89LJ7dP47DDfm/M5R+B11T6FFV9JJRtrY"
    "yyyWaSfoz7PuRwQ/0dfOxamCl3Ex9NSIsV73qwbPhH3BDMoeDGwlMYrE0dNDpBvcJpYeCP"
    "rYvH3AnmXkWpjOynTzTWN9nJVgiofKZwAuPGaKsE5lCJ+U81nQvCibkanVXC7rUIIwvMwh"
    "6vWCKNLroQYlQ9nVPUED5iGMPHLPgr63kGBSM4zwUrU/kT893yG9Xp7Jltr7N3qlFgRyJf"
    "U1QNgMOjduyWSriThDlCFyL9++Kfu0iCOHkH+RHMQjLoEFF1pwJB5sk5RR47UGvSsAo/61"
    "mwxfXidZTn7K5muNmabveUEsuCll1CIynRXcC5m0ILCHpLi+RPqCgb2cXtchn3ntgL6SjG"
    "Z+BrNW6cvqJ7r+vr3fPmjttafzeyqZNa3zuYnkXx7E+6ozNrbYwAmr7+xUmLFSq3TKqrYM"
    "xmHEr4xwqL+B+C4/IMQ0ugDCKaMNhFnf3a0yjXd3y6cxtKWRVulPIb1dXZ19KAY6aZPB2f"
    "dtaxssK6AdphLrAvYMbBWwrWDbkdxQqBdN48lN5i4UF6YGz5qxa4bhquPC0MMUts79hQJD"
    "2qrGeT7OyX1JDujZ1Y2M6QaWN95uOUOJUo42PfLMKlbacgPd/EarWGGkynl9vapYj6bj88"
    "AhZZWsqUpz0WpWyrLi6UxwJMIG6sQE9RkUfQ6RReBM5B4mLVSF5PTl8luj1wv2S73eVtlp"
    "zP/qrz59WTdqLC8P1XvtFOAtvQLgLb0UcGh6qimqpqjXpqhPzPcodsoJKlJYlJ7+TtjNJa"
    "euJI87Hzv2YCInQnBYwZFHTGLfw+mEYpk+mTBqKaJhvuizx3egIqSq7OUQASoD23F4jqqW"
    "2vs3ygaIkgcgNnOEqcQWQdELtLGyH1ckt2tNLdJmejOhDkwirio/LHnFgsYziFD7eeBTde"
    "0CqZHgo/2L9vI7l7kljnIGjJxVlf8i/Q1kv/f6QQX6k1ql/KfaMjcNXj6lq8sddbljE8sd"
    "Lp44DBcspU+XnYuSo8bYJOtc2xToX+TY/C2eOc5wK4CR8mi0dhrnR39ll9XJ585x1lXQwX"
    "HuTDLIKp6xxjKmG7jG6kR+dYn8pZDg3pbn8WH7omk8j83mZvEn0tvE9NUVJgtPOGqEd2/D"
    "e7swa9E/jJIt9GCLEcK5rDxfZlpSn3Wpad3SkvJEW2UatCB8lt6TSVhszD3fpd2ScZjco/"
    "JF4ExY1HDm4MRcGDISFbN7CaAJm1m0/gYpfQZ2QMsZ8OBNIVgvtI9O2LzcXlq76p6sqj6x"
    "6n1efWd/0zLQN3Fn/4o6zJyRgYbti2agfmw2/5CTImyObJn3jWU+IJNDAhfp1UGldLw5It"
    "ZPiFEzvCsP8mbSoKksig47l9dv4b36RMKYMFOYSMPcJfv6Cn19hX5N4+uqb8ymV0flO7Np"
    "sxrqClCryFN90xCp1/+pUPRflIrDnpeSpU3rnGxdcrK1rAo+/QdOR5pk"
)
