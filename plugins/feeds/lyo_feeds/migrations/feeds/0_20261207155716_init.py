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
COMMENT ON TABLE "feeds_activity" IS '\"``actor`` ``verb`` ``object`` (in ``target``)\", seen by ``audience``.';
        CREATE TABLE IF NOT EXISTS "feeds_course" (
    "id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "title" VARCHAR(300) NOT NULL,
    "author_id" VARCHAR(64) NOT NULL
);
COMMENT ON TABLE "feeds_course" IS 'What feeds knows of a published course (from ``learning.course_published.v1``),';
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
        DROP TABLE IF EXISTS "feeds_follow";
        DROP TABLE IF EXISTS "feeds_privacy";
        DROP TABLE IF EXISTS "feeds_source";
        DROP TABLE IF EXISTS "feeds_activity";
        DROP TABLE IF EXISTS "feeds_course";"""


MODELS_STATE = (
    "eJztW21zGjcQ/iua+1KYcRkbO7abdjqDX9K4aexMTJpOTIYTdwJUHxKRdBAm9X/vSrrj3s"
    "BwDiSY+IvNrXYl3bMrrXZX98XpEuLLWsNTdETVxHmOvjgMDwj8yDftIAcPh9MG/axwJ0hY"
    "2zjN2pFKAAFauziQBEg+kZ6gQ0U50zItx3WBgQvXRa47IqJjfvDOv8RT8LNCGTwqLHoEHq"
    "st6FUSwlBnAmQc+pQwj7huTY/mcw+Go6y3yo5brMXSBEQlMAzDTkA93Y0MTY9IcaT6BJkh"
    "f5JoRCXt0ABwqCIuUDKXCkZDQUdYkRbzBe6q54izYJII62lIRFW1hq7pgAZYoAhSCvQxVX"
    "2YueHu9QTpYY0kkJnPxwgL6JUzggQfP4dBPR4y/bK8qyUGO1MAJBCBQgWivkQV3V0AU5IK"
    "1Xerms0TBJ79NlaWs8W6VECzYdWKhnfkwicCYOMI3gn3CGIEcEYDPoKJhgwaocELheTC9B"
    "kO/VyfdkyjvJDRTyFpKw766BMBKrz5CGR4L/KZSP144xh82tTX/MkEHeC7ceBVhSQzGnUv"
    "w9t2l5LAz1i2ZTX0tpoMDe3du4uzF4ZT21On7fEgHLCEezhRfc6m7GFI/ZqW0W09wojQw6"
    "asnYVBEC2PmGRfFAhKhGT6hn5C8EkXh4FeM85v3ZB5RsFmJP3n4Pdoaim2dvvyqtm+Pm+2"
    "205hiekp5BZHRPI408uTMqXx/XJn+00AMVRHD3D6svG2sn9YNRBwqcDwZAyXc2cEscJW1O"
    "gqQTmtsyzWp30sZmOdlskhDhN+CNYxIQE72Y9iGGOg1gCtM8Cf2wFhPdWHx8ODe6D+u/HW"
    "oH14YNDmsH3a3fUyaqmbJg16ArLe3soAHPNvIbj79SXA3a/PBVc3ZcG1O6YFqQTGObEnqJ"
    "eHutxukRFaF8yFvfkR7xb20FPaoHNiD0I6gvFHsecIsnL2nBFaE8rbZM6Zk9+yIGeENtiU"
    "nSact+1k4xDBRFeoQwLOelLHHRW7A+o4w9oOnLa78BCJ2QiuECCtsuNvrPE4Git1pkzJfD"
    "tf7NhAcV1H9izQe4dLAL13OBdo3VRYWkwVUb5gau6qsvw5hKmlrgPhvXVB29Mz+Lm+d3B0"
    "cLx/eHAMLGaWU8rRPWhfXDZnHm1kEcw/r68u7zvYyBl4+hRW5X8ooHJtuKZiz05IA0WZrO"
    "nxvkf4qSHSPQ+k/BSkbbbyuvFP3pxP/7o6ycepuoOTnEJ0xFpGGzH/ZqhCD1tWFc4ZlcMA"
    "T2AIMCvYxYeU+Kgr+MB4ADIiTCd4qAqI3AGH0KdAGmiixkxWiz5kFR1+ZzPgnhcKYXNFBW"
    "s4A00qOiBz1mdWNG8YkWwt/vEI4717lNG8eH1+3Wy8fpPRyFmjea5b6oY6yVEred8z7QS9"
    "v2i+RPoRfbi6PM8rbsrX/ODoOeFQ8Tbj4zb205jE5JiU9WVJTrCknrOSW6hmB17Qv2LBJD"
    "rWPhK1Ryfwe7We5JzLaj0r+aT1TdH6jMVuZq/z/N3bVA5aEzrYux1j4bczLYl5SIhkPDLj"
    "VHYSCb549ZYEpsYywwpsAHRt+niEBnAXm3xMTUPJ63welsWmQX2Qp2CGe+aV9Nh6JAvWqQ"
    "kdnWKFMWrYWVhf9BLGhdXF932sbJiKbsFUpC6EYWRiMtmHo0oUyFbMkcV1A4IFA8RqUXZg"
    "ylgb7bludadw/llx/y2mo2t7XkKUIRkOBlhQIpeskJUqdc0PlVeZSV1c5Hp0maf5tS6juV"
    "KpvlhgG6sDu7vLpFN3d+fnU3VbPvMDOJUuJ6aFthDp1Rh2Cf+5Rv/wggeB8el5/xA1LPYP"
    "3YRxoX9w3VASbRmui6ychP1b03TOE0f7dzHuLSE3Y9e+cSJp3X4LJmTfIs76fyzce5jDs/"
    "RWf0J7c1N2M1fFjHxdtG9v7l5v83W/1Ov7+0f13f3D42cHR0fPjnenibti030ZvJOLP3QS"
    "L7Nk4qzefA+QUuyyu1NK5GlvWiL5Hy+GZfGN+bcQ3OMlsD2eC+3xhlQrNxvjNdQrnxJRW5"
    "aSmJeI2owj1Rt93dSbdas3bll8qBqmOBeeqq4YMWehnyTy+px6RIfF4z63N1vttdO43Pwr"
    "YtzeVtUVg8iggFEpHScXDl6r7forIupNcPQ/VGydXKgug3lWagvd0+pr/k8Z821zTyvImK"
    "/RPUXp86J3SvLqC5yTTBgX+qZmXJeGgJ0ll57GWNrauqle608yzDcUaAgRvWGPPnMQxCcB"
    "HRH4b+kFD7XqAVqswoVlJ7rWni6w+2COKACHRoSsRl9fmCs44ArH4By/1smZCcz0cvO/k0"
    "jLPH0t8YCvJYy9lAQ9J7ZK3DejRvUAmAu7WxHlIsQvuCC0x16RiQH6AuaCZ18aLH4X9ziR"
    "LVT/gCzweLob5G0LIIAdiih78GpcnzbOzp27b+k57v4HlhBWVg=="
)
