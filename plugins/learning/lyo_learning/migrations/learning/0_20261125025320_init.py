from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "learning_course" (
    "id" UUID NOT NULL PRIMARY KEY,
    "title" VARCHAR(200) NOT NULL,
    "slug" VARCHAR(120) NOT NULL UNIQUE,
    "description" TEXT NOT NULL,
    "level" VARCHAR(20) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "author_id" VARCHAR(64) NOT NULL,
    "metadata" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "published_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_learning_co_status_d6b111" ON "learning_course" ("status", "created_at");
CREATE INDEX IF NOT EXISTS "idx_learning_co_level_6f9014" ON "learning_course" ("level", "created_at");
CREATE INDEX IF NOT EXISTS "idx_learning_co_author__347139" ON "learning_course" ("author_id", "created_at");
COMMENT ON COLUMN "learning_course"."level" IS 'BEGINNER: beginner\nINTERMEDIATE: intermediate\nADVANCED: advanced';
COMMENT ON COLUMN "learning_course"."status" IS 'DRAFT: draft\nPUBLISHED: published\nARCHIVED: archived';
COMMENT ON COLUMN "learning_course"."metadata" IS 'Free-form JSON about the content (source, language, generator, ...).';
        CREATE TABLE IF NOT EXISTS "learning_course_tag" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(40) NOT NULL,
    "course_id" UUID NOT NULL REFERENCES "learning_course" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_co_course__ed4e21" UNIQUE ("course_id", "name")
);
CREATE INDEX IF NOT EXISTS "idx_learning_co_name_da4e60" ON "learning_course_tag" ("name", "course_id");
COMMENT ON TABLE "learning_course_tag" IS 'One tag of a course: a row per tag, so filtering by tag is an indexed join on';
        CREATE TABLE IF NOT EXISTS "learning_enrollment" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "enrolled_at" TIMESTAMPTZ NOT NULL,
    "completed_at" TIMESTAMPTZ,
    "course_id" UUID NOT NULL REFERENCES "learning_course" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_en_user_id_a0dda6" UNIQUE ("user_id", "course_id")
);
CREATE INDEX IF NOT EXISTS "idx_learning_en_user_id_cd09e4" ON "learning_enrollment" ("user_id", "enrolled_at");
        CREATE TABLE IF NOT EXISTS "learning_lesson" (
    "id" UUID NOT NULL PRIMARY KEY,
    "position" INT NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "content" JSONB NOT NULL,
    "estimated_minutes" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "course_id" UUID NOT NULL REFERENCES "learning_course" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_le_course__99754b" UNIQUE ("course_id", "position")
);
COMMENT ON COLUMN "learning_lesson"."content" IS 'Structured blocks: ``[{\"type\": \"text\", \"text\": \"...\"}, {\"type\": \"code\", ...}]``.';
        CREATE TABLE IF NOT EXISTS "learning_lesson_progress" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "status" VARCHAR(20) NOT NULL,
    "percent" INT NOT NULL,
    "seconds_spent" INT NOT NULL,
    "completed_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "course_id" UUID NOT NULL REFERENCES "learning_course" ("id") ON DELETE CASCADE,
    "lesson_id" UUID NOT NULL REFERENCES "learning_lesson" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_le_user_id_7b6290" UNIQUE ("user_id", "lesson_id")
);
CREATE INDEX IF NOT EXISTS "idx_learning_le_user_id_f5b7eb" ON "learning_lesson_progress" ("user_id", "course_id");
COMMENT ON COLUMN "learning_lesson_progress"."status" IS 'IN_PROGRESS: in_progress\nCOMPLETED: completed';
COMMENT ON COLUMN "learning_lesson_progress"."course_id" IS 'The lesson''s course, kept here so a user''s progress per course is one aggregate.';
        -- aerich ignores Meta.constraints: the CHECK constraints are written here by hand
        -- and mirrored by the models' validators
        ALTER TABLE "learning_lesson" ADD CONSTRAINT "learning_lesson_position_range"
            CHECK ("position" >= 0);
        ALTER TABLE "learning_lesson" ADD CONSTRAINT "learning_lesson_minutes_range"
            CHECK ("estimated_minutes" >= 0);
        ALTER TABLE "learning_lesson_progress" ADD CONSTRAINT "learning_progress_percent_range"
            CHECK ("percent" BETWEEN 0 AND 100);
        ALTER TABLE "learning_lesson_progress" ADD CONSTRAINT "learning_progress_seconds_range"
            CHECK ("seconds_spent" >= 0);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        -- referencing tables first (aerich's order would drop learning_lesson while
        -- learning_lesson_progress still refers to it)
        DROP TABLE IF EXISTS "learning_lesson_progress";
        DROP TABLE IF EXISTS "learning_enrollment";
        DROP TABLE IF EXISTS "learning_lesson";
        DROP TABLE IF EXISTS "learning_course_tag";
        DROP TABLE IF EXISTS "learning_course";"""


MODELS_STATE = (
    "eJztW+tv2kgQ/1dW/nKplKKWolwVnU4i4LRcE8iB26saKmexF+OLvXbtdZMol//9Zv1+QT"
    "CBBKi/RGQe+/jN7uzszPpeMAh2qE61RsfyHJcIx+heoNjkPwq8QyRg205zOInhiZERl5VE"
    "fOIyBysM2FNsuARIKnEVR7eZblGgUs8wONFSQJA3GJM8qv/wiMwsjbAZcYBx+R3IOlXJLX"
    "H5v5eCyzDzXN6R4hDMiCpjJoDUJYzlJzHKGNhjM8uRdTXP5I3b1/JUJ4aaQSEQ9ekyu7N9"
    "2ufPve6pL8kHP4EZG55JE2n7Dnqhsbjn6WqD63CeRihxeLcpUPicQxgjUjB/IDDHI/HE1Y"
    "Sgkin2DA6t8MfUowpHFPk98T+tP8OhpcRkuT+Q5JEoybJQwRKKRbkVdco47PcPQbsJID5V"
    "4B10PraHB++OXvkQWC7THJ/pwyU8+IqY4UDVN2GCMtOZQYpAd2bYKQc6VshhDUNdBeWIkM"
    "CcLNgIwAiiDYAqmPhWNgjV2Az+bb55swDlL+2hDzRI+UhbsMOCHdgPWc2AxxFPEHYNT6sC"
    "cCS/HnwfX8XPhu7b5jLogtRcdH1eFt30yAogS+SWlYOcU3u+tSy8gHuQxK8Sb9l03R9GGt"
    "GD8/ZXH2zzLuScDfofIvGUBTpng5Mc8LGnL65rkXqmD3sPRoipQgrwx8rPCPyEaDqFdisa"
    "QDgRP/T6fXF4jKIWxrTXl8ThudjttSXxGIEJiGMSVYchj2m7+6Xd74jdY4TVn3z2weqr7I"
    "qW8kQLHFHBD8WH9ioWS7Sf0WSqg6esqr26w/apdIx83TG9+Hxy1ht95OawvYmhuzOigo0A"
    "pd4X30aOMtN/bouNMlHSsgdGRmkPT+Wj1hIwH7XmwsxZWZhNwjCPiIoo/zUa9MtRTuvkQF"
    "Z1haH/ECwutrGtkISaE083mE7dBu+2arQpnDqEvJ5ajon4VBGeWB5DEOgjMAEjlKEDF24R"
    "CvRuYKp5WINf4YQs5xA1Go1XjfxeWVujyx9pvJ/FR1r+9MqFxryB/JGWupYUFkYXOEw3Sf"
    "niyGrml0eo2oh+7OKOhAmqA2rchRHkomijdy6OpPb5RcY+XTgpOaeZCTci6sFRzmZxI+if"
    "nvQR8X/Rt0FfzJsxlpO+CXxM4AstmVo3MlZTwW5EjVDLWN2z1RWtntWsrb4tVo8wSpk9HH"
    "1i9TgYWMHued01WD5cqNti+N01dLC/eVJpep1KeHDCBCvXN9hR5QwnlQrBWkl4fBJqnX4a"
    "EgPPuTDmMnYS1nZwtz9E6zyilu0bQh3LMEzCdZ6IlRg3ta9gGcR1QeCpQJ35zewrSLZj8e"
    "2+JpQuUq1tB1qCBIFwsBJ+c1GQoz9E18RmaEYcglwLYeS5xAFuhAWyiROKIt1FFiUIa8DR"
    "YDaF8Lsi9twVWk1rnnMsssymmadgCjG8GvbNeypxgAsqGqF/rFDUkFmo8lhhQxgAViCMrC"
    "nAGijDLR851o0PKrAOOeRTuEQRDiCa3PnyADOmKDQ9+tfSKQrWW+ams9bWx3RisRka/X2m"
    "MzAwVdFFcPYBxbdySS3mUkiqPD663wvVGZ/sLwhfsFqFpUfnZExL0wt60XeHkcz25qQ1Po"
    "TXzbet31vv3x213vurF0gx5fcF0U+vLz1SUInQXzZ7E8nvYeKmtUx+rDU/P9Yq5MdCZ1Ct"
    "NJhRWmeFcDtO1xUKgoXwOI9wEd5TyyG6Rj+Ru0KeeHEsvLvAFo5OIDv4Jnak2YUFCKjEIC"
    "zY7u1Rp90VhYf5947NHsOp2Lr0HM7G3ksdxCSrstYXBpcCD4Ci1wGpcytzsKVkgsHUTwi2"
    "4QlByizLHnoplT0899ZfsEgv9wLMi5NVOdU6S7ktyatlctOKZdr8TFmpJpHTrbOU25alrC"
    "PbOrKtI9uKkW2YDC2NapNE6VIRrZGIrzmaTdYarFHdbyMfztZB64sGrbFdCljPzYClVR7P"
    "g+2AN1hPKqx+S/x8b4nD9zRFjOe/W0qpbMezJd5f5WdLI3BCCvMcoqKJYSnX7jG6urq8Hw"
    "t8MmOQgF/klo1BNfrFaY1GY8xDsoygYqmECwLz4fvVVfE506Y7e+FnTsSFcN9/uGLq1GOk"
    "pPI21weW6j6fM3yzI56wfkk2H+r9va3XL8n2zerLvCSrb+71zX1Pbu6/zqOcpz9heo4sR4"
    "zbgmxHGtsKWQ85beENFvPCHMvCYt5KD1XqlEhdx9u5Ot4OfoOnZ11FlUt7ry9fDAcfhuJo"
    "xD+SjNsZ087g/OJMlPgHeHGZKn8Nf5kv8GziKKUZlvlpwUSjvgjnL8IugQ5UV3btaqAW9G"
    "poCzmGujb8i9SG67zC/E1V5xV2Oa/wst9GrBQ/57/uqWigjNL2G+hlEz9Jgf7JiZ+9+4bq"
    "MJf4ySys8sRP0bvsZU5t405lIx3sx0udh/8BaT97Og=="
)
