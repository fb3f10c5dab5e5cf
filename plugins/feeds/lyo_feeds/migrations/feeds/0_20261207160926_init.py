from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "feeds_activity" (
    "id" UUID NOT NULL PRIMARY KEY,
    "actor_id" VARCHAR(64) NOT NULL,
    "verb" VARCHAR(32) NOT NULL,
    "object_type" VARCHAR(32) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(32),
    "target_id" VARCHAR(64),
    "course_id" VARCHAR(64),
    "audience" VARCHAR(16) NOT NULL,
    "count" INT NOT NULL,
    "objects" JSONB NOT NULL,
    "data" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_feeds_activ_object__ed9c3d" ON "feeds_activity" ("object_id");
CREATE INDEX IF NOT EXISTS "idx_feeds_activ_target__3df49d" ON "feeds_activity" ("target_id");
CREATE INDEX IF NOT EXISTS "idx_feeds_activ_actor_i_8f85b6" ON "feeds_activity" ("actor_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_feeds_activ_course__51d76a" ON "feeds_activity" ("course_id", "created_at");
COMMENT ON COLUMN "feeds_activity"."course_id" IS 'The course the activity belongs to (object or target), for course feeds.';
COMMENT ON COLUMN "feeds_activity"."data" IS 'Display facts copied from the event (titles, achievement names).';
COMMENT ON TABLE "feeds_activity" IS 'An activity: \"``actor`` ``verb`` ``object`` (in ``target``)\", seen by ``audience``.';
        CREATE TABLE IF NOT EXISTS "feeds_course" (
    "id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "title" VARCHAR(300) NOT NULL,
    "author_id" VARCHAR(64) NOT NULL
);
COMMENT ON TABLE "feeds_course" IS 'What feeds knows of a published course (from ``learning.course_published.v1``),';
        CREATE TABLE IF NOT EXISTS "feeds_embedding" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "text" TEXT NOT NULL,
    "model" VARCHAR(100) NOT NULL,
    "vector" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_feeds_embed_kind_a780ab" UNIQUE ("kind", "object_id")
);
COMMENT ON TABLE "feeds_embedding" IS 'A sentence embedding of a course or a discussion (normalized float32 bytes), with';
        CREATE TABLE IF NOT EXISTS "feeds_follow" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(8) NOT NULL,
    "target_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_feeds_follo_user_id_146475" UNIQUE ("user_id", "kind", "target_id")
);
CREATE INDEX IF NOT EXISTS "idx_feeds_follo_kind_ccd945" ON "feeds_follow" ("kind", "target_id");
COMMENT ON TABLE "feeds_follow" IS '``user_id`` follows a user or a course.';
        CREATE TABLE IF NOT EXISTS "feeds_privacy" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "visibility" VARCHAR(16) NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "feeds_privacy" IS 'One user''s choice of who sees their activity; no row: the default setting.';
        CREATE TABLE IF NOT EXISTS "feeds_source" (
    "event_id" UUID NOT NULL PRIMARY KEY,
    "activity_id" UUID NOT NULL REFERENCES "feeds_activity" ("id") ON DELETE CASCADE
);
COMMENT ON TABLE "feeds_source" IS 'The events an activity was built from: one row per event, so a redelivered event';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "feeds_source";
        DROP TABLE IF EXISTS "feeds_course";
        DROP TABLE IF EXISTS "feeds_privacy";
        DROP TABLE IF EXISTS "feeds_follow";
        DROP TABLE IF EXISTS "feeds_activity";
        DROP TABLE IF EXISTS "feeds_embedding";"""


MODELS_STATE = (
    "eJztXOtz2zYS/1cw/FJ5xvXYsmv73JubkR9pfW3sTqxeH3ZHhEhIwpkEVACUosv5f+8CIM"
    "WXKImJlMqKviTiYhcAf7vEPgD4g9MjxJcHLU/REVUT5wJ9cBgOCfwoNu0jBw+H0wb9rHA3"
    "SFk7OMvalUoAAVp7OJAESD6RnqBDRTnTMi2GEoEL9OS4Ljxx4brIdUdEdM0P3v0v8RT8bF"
    "AGjwqLPoHHvScYQhLCUHcCZBz5lDCPuO6BHtrnHoxNWX9tozyxJ5YlICqBYRh1A+rpbmRk"
    "ekSKIzUgyAz5lUQjKmmXBjCVPcQFSufSwGgo6Agr8sR8gXvqAnEWTFJhPQ2JqNo7QA80pA"
    "EWyVtRoI+pGsDMDXe/L0gfa4yBzHw+RlhAr5wRJPj4Agb1eMT0y/Kelgj3pwBIIAKFCkR9"
    "iRq6uwCmJBVqHu5pNk8QePY7WFnOJ9ajApoNqzYBeEcufCIANo7gnXCfIEYAZxTyEUw0Yt"
    "AIDV4kJBemz2joF/q0YxpNRoz+GZGO4qCPARGgz8c/gAzvRd4TqR8fHYNPh/qaP52gA3yP"
    "DryqkGRGo+5l+NzpURL4OZu3rIbeUZOhof388+31G8Opjavb8XgQhSzlHk7UgLMpexRR/0"
    "DL6LY+YUToYTPfAYuCIP5wEpJ9USAoEZHpG/opwSc9HAX6a3L+2YuYZxRsRtL/nPwrnlqG"
    "rdO5u293Hm7anY5T+vj0FApfSkzyONMfLmVK4/vhxfabAmKojh7g6vvWu8bx6Z6BgEsFhi"
    "cTuJwXI4gVtqJGVynKWZ3lsb4aYDEb66xMAXGY8MdgnRBSsNOVKoExAWoN0Dohft8JCOur"
    "ATyensyB+j+tdwbt0xODNoeF1a67d3FL0zRp0FOQ9fJWB+CEfwvBPW4uAe5xsxJc3ZQH16"
    "6YFqQaGBfEdlAvD3W91SIntC6YS2vzK14tbNBT26ALYh+FdAzjl2LPMWT17DkntCaUt8mc"
    "c5HfsiDnhDbYlJ02xNt2skmKYBIc1CUBZ32p846GXQF1nmFtB6LtHjzEYja3K2VLq+z4M2"
    "s8ycZqxZQZmc/nix2bKK4rZM8DfXS6BNBHp5VA66bSp8VUGeVbpiq/KstfQJha6joQPloX"
    "tH09g6+bRydnJ+fHpyfnwGJmOaWczUH79q49M7SRZTD//XB/Ny+wkTPw9Cl8lf9HAZVrwz"
    "WTe3YjGijK5IEe7+9IPzVEuudQyj+DrM023rZ+LZrz1Y/3l8U8VXdwWVCIzljraCPh3wxV"
    "6GHrqsK5pnIY4AkMAWYFq/iQEh/1BA+NByAjwnSBh6qAyH1wCAMKpFATNWZyr+xDVtHh32"
    "wG3PMiIWytqGQN16BJRUNS8X3mRYuGEcseJD9eYb43Rxnt27c3D+3W259yGrlutW90S9NQ"
    "JwVqo+h7pp2gX27b3yP9iH6/v7spKm7K1/7d0XPCkeIdxscd7GcxScgJKe/L0ppgTT3nJb"
    "dQzQ68oH/Pgkkc1r4StccR+FytpzXnulrPS+60vilan/Gxm9nrOn/vOVOD1oQu9p7HWPid"
    "XEtqHhIyGY/MiMouY8E3P7wjgdljmWEFNgF6MH28QgN4SUw+oWah5E1ehWW5KWyGRQpmuG"
    "9eSY+tR7JgXZnU0SnvPcYN+wt3Hr2UceG+4y8DrGyaip7BVKTeCMPI5GRyAKFKnMg2TMji"
    "ugHBggFiB3F1YMp4MDpy3b39Uvyz4v6fmM6ubbyEKEMyCkMsKJFL7pDV2uqqTpVXWUldvM"
    "n16ipP1XtdRnO1Sn2JwDbuDhweLlNOPTysrqfqtmLlB3CqvZ2YFdpCpFdj2DX85xr9w03Y"
    "Jb5v373oItK2xV6C5HgXH1BBEtJSXR9EU0m7mMdLONdnGXwqvUhKnYg3GBchDuj/dMIbcK"
    "yOm6g7UZDU7pszGiVXsfIRnpjOsUPukwCybfBDIfYJouoCuhF8bPpmXHuKmIlKJMjXdnDo"
    "s+G6BqoLQQwNHFCVm3l0nsHQjflM99r++BTfc0n7lTXEmZ/pjAJi7Eg21/nYAuI/ms3j47"
    "Pm4fHp+TcnZ2ffnB9OK4nlpnklxcvb73RVMfcNJ2XGapeUKG7ZtTLh38JlcvXl8c3drn71"
    "3ii3i7oLq9YcVinyfkZ9pA3UCoBj/q3Ad17d4+bX9vyK87Ts8eP93XcJe7EMnQfbeOM65j"
    "wV2Aq4C4vyUuZ8NMecj8rmPCL6AOGssINhMak6EpfIFFA2MdcrxHleKBHvjUzNGsC8vL1r"
    "vftttl1fzthLufytfdMq4L4rtlZb/RdbbF1jsviGB4GZUzFTjBv2F6aJvZRxYY7oupEkuo"
    "zgusjKSUi1NM3mbjaPK2+S1pCbmXvF0ro9ic7TI2LFNOyximeXm21cbpZR7LKhQEZkC4OB"
    "1acOu/R3Cu75EtieV0J7viFHWzcb4zUcbt2dWtiykKrq1MJmhFQ/6buJ3qzLoUnL4qBqmO"
    "FcGFXdM2Jioa8k8gacekQXrscDbq9B2juKydnkbxHj9mqjLn3HBgWMSulN1VLgtdquP2H7"
    "dRMc/Re1EZvevq2DeV5qC93T6ivgu4x/29zTZmf88VmrsndKD2EtcE4yZVzom9rJIWZI2N"
    "O/LYDGWNqD2Oaos76/by7coyFk9IY9vhMviE8COiLwv6WXPNSqB3hiDS4sO9EHs7OnsX0w"
    "RxSAQyNC7sVX9c19DXCFY3COn+rkzARmernqS/VZmd3V+o+4Wm/spSboBbFV4r65Je8FMJ"
    "dWtzLKZYjfcEFon/1A7JbCLcwFz75hVv7zKq8T2dJRUSALPJ6uBkXbAghghSLKBl6th6vW"
    "9Y3z8jk9x8tfCSflBQ=="
)
