from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "community_block" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "blocker_id" VARCHAR(64) NOT NULL,
    "blocked_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_community_b_blocker_3511be" UNIQUE ("blocker_id", "blocked_id")
);
CREATE INDEX IF NOT EXISTS "idx_community_b_blocked_935882" ON "community_block" ("blocked_id");
COMMENT ON TABLE "community_block" IS '``blocker_id`` gets no replies, mentions or notifications from ``blocked_id``.';
        CREATE TABLE IF NOT EXISTS "community_category" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(80) NOT NULL,
    "slug" VARCHAR(80) NOT NULL UNIQUE,
    "description" TEXT NOT NULL,
    "position" INT NOT NULL,
    "archived" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_community_c_archive_9cc908" ON "community_category" ("archived", "position");
        CREATE TABLE IF NOT EXISTS "community_moderation_action" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "moderator_id" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(12) NOT NULL,
    "target_id" UUID NOT NULL,
    "action" VARCHAR(20) NOT NULL,
    "reason" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_community_m_target__8a6449" ON "community_moderation_action" ("target_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_community_m_created_c10d73" ON "community_moderation_action" ("created_at");
COMMENT ON TABLE "community_moderation_action" IS 'The audit log: append-only (nothing updates or deletes these rows but erasure).';
        CREATE TABLE IF NOT EXISTS "community_reaction" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(12) NOT NULL,
    "target_id" UUID NOT NULL,
    "kind" VARCHAR(20) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_community_r_user_id_115f42" UNIQUE ("user_id", "target_type", "target_id", "kind")
);
CREATE INDEX IF NOT EXISTS "idx_community_r_target__f31a60" ON "community_reaction" ("target_type", "target_id", "kind");
COMMENT ON COLUMN "community_reaction"."target_type" IS 'DISCUSSION: discussion\nREPLY: reply';
        CREATE TABLE IF NOT EXISTS "community_report" (
    "id" UUID NOT NULL PRIMARY KEY,
    "reporter_id" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(12) NOT NULL,
    "target_id" UUID NOT NULL,
    "target_author_id" VARCHAR(64) NOT NULL,
    "reason" TEXT NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "open_key" VARCHAR(160) UNIQUE,
    "created_at" TIMESTAMPTZ NOT NULL,
    "closed_at" TIMESTAMPTZ,
    "closed_by" VARCHAR(64)
);
CREATE INDEX IF NOT EXISTS "idx_community_r_status_36455e" ON "community_report" ("status", "created_at");
CREATE INDEX IF NOT EXISTS "idx_community_r_target__bd8b00" ON "community_report" ("target_author_id", "status");
COMMENT ON COLUMN "community_report"."target_type" IS 'DISCUSSION: discussion\nREPLY: reply';
COMMENT ON COLUMN "community_report"."status" IS 'OPEN: open\nRESOLVED: resolved\nDISMISSED: dismissed';
COMMENT ON COLUMN "community_report"."open_key" IS '``reporter:type:target`` while open, NULL once closed: a unique column that';
        CREATE TABLE IF NOT EXISTS "community_discussion" (
    "id" UUID NOT NULL PRIMARY KEY,
    "author_id" VARCHAR(64) NOT NULL,
    "body" TEXT NOT NULL,
    "body_html" TEXT NOT NULL,
    "mentions" JSONB NOT NULL,
    "state" VARCHAR(12) NOT NULL,
    "hidden" BOOL NOT NULL,
    "deleted_at" TIMESTAMPTZ,
    "edited_at" TIMESTAMPTZ,
    "reaction_count" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "title" VARCHAR(500) NOT NULL,
    "course_id" UUID,
    "lesson_id" UUID,
    "tags" JSONB NOT NULL,
    "pinned" BOOL NOT NULL,
    "locked" BOOL NOT NULL,
    "reply_count" INT NOT NULL,
    "view_count" INT NOT NULL,
    "last_activity_at" TIMESTAMPTZ NOT NULL,
    "category_id" UUID REFERENCES "community_category" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_community_d_created_62fddc" ON "community_discussion" ("created_at", "id");
CREATE INDEX IF NOT EXISTS "idx_community_d_last_ac_ceaf2c" ON "community_discussion" ("last_activity_at", "id");
CREATE INDEX IF NOT EXISTS "idx_community_d_reactio_93f0ec" ON "community_discussion" ("reaction_count", "id");
CREATE INDEX IF NOT EXISTS "idx_community_d_categor_3eb6e4" ON "community_discussion" ("category_id", "last_activity_at");
CREATE INDEX IF NOT EXISTS "idx_community_d_course__bd38fb" ON "community_discussion" ("course_id", "last_activity_at");
CREATE INDEX IF NOT EXISTS "idx_community_d_lesson__405725" ON "community_discussion" ("lesson_id", "last_activity_at");
CREATE INDEX IF NOT EXISTS "idx_community_d_author__5af003" ON "community_discussion" ("author_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_community_d_state_d3a530" ON "community_discussion" ("state", "hidden");
COMMENT ON COLUMN "community_discussion"."mentions" IS '``@handles`` found in the body.';
COMMENT ON COLUMN "community_discussion"."state" IS 'PUBLISHED: published\nHELD: held';
        CREATE TABLE IF NOT EXISTS "community_discussion_tag" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(40) NOT NULL,
    "discussion_id" UUID NOT NULL REFERENCES "community_discussion" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_community_d_discuss_5434ba" UNIQUE ("discussion_id", "name")
);
CREATE INDEX IF NOT EXISTS "idx_community_d_name_559888" ON "community_discussion_tag" ("name", "discussion_id");
COMMENT ON TABLE "community_discussion_tag" IS 'One tag of a discussion, a row each, so filtering by tag is an indexed join.';
        CREATE TABLE IF NOT EXISTS "community_reply" (
    "id" UUID NOT NULL PRIMARY KEY,
    "author_id" VARCHAR(64) NOT NULL,
    "body" TEXT NOT NULL,
    "body_html" TEXT NOT NULL,
    "mentions" JSONB NOT NULL,
    "state" VARCHAR(12) NOT NULL,
    "hidden" BOOL NOT NULL,
    "deleted_at" TIMESTAMPTZ,
    "edited_at" TIMESTAMPTZ,
    "reaction_count" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "parent_id" UUID,
    "root_id" UUID,
    "depth" INT NOT NULL,
    "discussion_id" UUID NOT NULL REFERENCES "community_discussion" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_community_r_discuss_b6a946" ON "community_reply" ("discussion_id", "depth", "created_at");
CREATE INDEX IF NOT EXISTS "idx_community_r_root_id_88eb94" ON "community_reply" ("root_id", "created_at");
COMMENT ON COLUMN "community_reply"."mentions" IS '``@handles`` found in the body.';
COMMENT ON COLUMN "community_reply"."state" IS 'PUBLISHED: published\nHELD: held';
COMMENT ON COLUMN "community_reply"."parent_id" IS 'create a table that references itself.';
COMMENT ON COLUMN "community_reply"."root_id" IS 'The top-level reply this one descends from (``None`` for a top-level reply), so';
        CREATE TABLE IF NOT EXISTS "community_subscription" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "discussion_id" UUID NOT NULL REFERENCES "community_discussion" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_community_s_user_id_6f6a71" UNIQUE ("user_id", "discussion_id")
);
-- full-text search (PostgreSQL only; SQLite falls back to LIKE): generated tsvector
-- columns with GIN indexes, title weighted above body
ALTER TABLE "community_discussion" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', coalesce("title", '')), 'A')
    || setweight(to_tsvector('english', coalesce("body", '')), 'B')) STORED;
CREATE INDEX IF NOT EXISTS "idx_community_discussion_search" ON "community_discussion" USING GIN ("search");
ALTER TABLE "community_reply" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
    to_tsvector('english', coalesce("body", ''))) STORED;
CREATE INDEX IF NOT EXISTS "idx_community_reply_search" ON "community_reply" USING GIN ("search");
-- counters never go below zero (mirrored by the code, which only moves them with rows)
ALTER TABLE "community_discussion" ADD CONSTRAINT "community_discussion_counts_check"
    CHECK ("reply_count" >= 0 AND "reaction_count" >= 0 AND "view_count" >= 0);
ALTER TABLE "community_reply" ADD CONSTRAINT "community_reply_counts_check"
    CHECK ("reaction_count" >= 0 AND "depth" >= 1);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "community_discussion_tag";
        DROP TABLE IF EXISTS "community_subscription";
        DROP TABLE IF EXISTS "community_reply";
        DROP TABLE IF EXISTS "community_discussion";
        DROP TABLE IF EXISTS "community_category";
        DROP TABLE IF EXISTS "community_reaction";
        DROP TABLE IF EXISTS "community_block";
        DROP TABLE IF EXISTS "community_report";
        DROP TABLE IF EXISTS "community_moderation_action";"""


MODELS_STATE = (
    "eJztXVtT4zgW/iuqPNFVdBeENDDU1tZySU9nJxCWhNnZ6Z5yFFtJtDhSxpKhU7P895V8ly"
    "+JDTGEoJfujqQj29850rlK/VfDpLOZSzBffDqzqXnXOAF/NQicIfGPTN8uaMD5XOmRbRyO"
    "bHW8MYrGjxh3oMlF9xjaDIkmCzHTwXOOKZFEw6E3GDkGtoZDMEGcAUKBg+Y2RmwXzBCRQx"
    "mgjmjneIxN6DeMHToDIbnlkX+Sz7SoKR6KyaSe6cUX/ukig1Mx1xQ54iHfvjXih8ghMU3j"
    "jz/Eb0ws9AOx5NC4c35njDGyLQV6fx6v3eCLudd2hicdwr94Y+VnjgyT2u6MxOPnCz6lJC"
    "LAhMvWCSLIgRzJJ3DHlTwgrm0HXAvZ4n9WPMR/5wSNhcbQtSUnJbX/AnFbwzCuegOj3x4Y"
    "RiPD5ZAiwZmgyRRQCwkRr8o8ACbyFT7+1GweHBw19w4Ojz+3jo4+H+8di7He+2a7jh79l4"
    "nR8qfyMOv83LkayBeiQgx9MZUNjx4N5NCn8lgTo69yU+XC+RQ6+TxQqVK8EB+Z5kWI/DJm"
    "hA0xN+Jl9BLsmMEfho3IhE/Fz8PWEqR/Pb05/3p6s3PY+qDCfRX0NL0uCXwaaOtJQFsa6P"
    "JAmw6SYBiQZ4G+ED0cz1A+2CplCmwrIP0U/uMtQi8+0OoRexFsdUugH3Qu2/3B6eW1fNyM"
    "sT9tD7/TQVv2NL3WRap15zDFpmgS8O/O4CuQP8Hvvau2By9lfOJ4T4zHDX5vyHeCLqcGoQ"
    "8GtBK7ctgaovYoVcr4LrGtyYYRNO8eoGMZmR7apEVjs12z5izdAgmceDyT4D7uJo2GcyED"
    "E+osCmyKqLu8WWEmSVZZFsUCkKPBM1oaOuYU3yMr4Ar2Jq2mr29vOxcVtLXrYuuTpHnKGl"
    "qttBt/G7vElJ8BvCfJP1p/b9S0qJYsIm/zOvBXRVLevU9frpe9vysoinD8FqqI470SKuJ4"
    "r1BFyC5VRTDbnVQBNxy/HnBf1+qsGdrka2UQHqAfBUZ9iuzlpLjxCtvCoP3bQFGrIaA7l6"
    "e/fVBUa7d39XM4PMGA827vLAV8tHNnUC/0pJIkq/2pdSG+V5dk+/5Uc7911Do+OGxFblTU"
    "ssx7Cj2lGNCkWkx5p5TaCJJ8UBVtqoI6EnR1oRq1vKwon/V6XUWUzzppWb29PGvf7Ox7ci"
    "0GYY7y8dZ2e7Fov1u7PaFYMDNdxmS8KmdFBsRffrlBNizY02J7/CKaq4QwBF+xKbLwGEp/"
    "2BrKRM0uTgKzfCdHBbWkm2OpRPU6Ouo+IYOSu+Bbw4aMG+Kh+F6+kNonCDw/QsDtEqUn9M"
    "+CyExmEn8QdR2Glg6xEWNi/mVDxPqZ0jDWlvgGr5Nx8VN2TLFlIe23vbbfpjCrrH+hEG2h"
    "B1dDNJVaiyr+RTh+K8B9addCgmdM+cyuinhEpGF/Auxhvi6L+j/7vat81JM0aUMYmxz8D9"
    "iY1ebaJTbwkYttjgn7JJ9XdQ9vDIf/mEJiCeU4HIKx0L0WwAQIxQ6kWOWlPleOL89Mie5y"
    "Zqb5llITcoI0MyM9ndUJbeLOPG52xBtCYqJs/CkkfsG4yNwdCdZNkVWVd9e3Z91O/2v74g"
    "REc3wnX9td0TANZbaiAtlvllAg+81CBSK7VH4E5lLWk1jm28dE2rOv4NlbyEZP8+xVyjV4"
    "9pvpzG26Ix9ikvHkk1xGFn4akxVCzeNN5nHWHy4Zas4S6oCzDoC+1wBokuscc7tSpjci2A"
    "qnSrXzPu+VSUiKUYWWnteXWlfJKFzZ+JdC9Iww2NtRRiuDXjGiStCyLKIKkUZURZTDSSU/"
    "Pxz/dn38dQBci6c+x4RUzvrGRNozrOAZ+tWtFbGOiTTWFbCW5wAWTzDcFSpttadhvcfooT"
    "KqKpEGNbMv5ORkqzhEefRb6Ba9ETeoVGghlVAvbaerZNqufMyW12RBziL8hToIT8gvaJFJ"
    "RRSW0STL2t8kuJkiGtHswIeoeCItXQIFPyIt+8Q7gKvbbrfxWKZ8SRjshkMf1lm7NICTt7"
    "tnZeuX0rYKRs8H60ZaL9sKEnNH0eTPh6qfmG2bEHuxsji5HFdVxgVLtnJxnMEDwpVnjHsE"
    "ATEY0DGAIJ5gV/wS2w9A0JzuAkbBWLjuSCIKRguPADMACQi4B/5LMcmm2dc9ee75YrUk0E"
    "Mze7I4PO6SGFyt8u29HC9+pkmuDyiViFq3ygStW8Ux61b2FE288quZwxnCdVZwbsYWv16L"
    "WN1tnm8TVyot31CEV5rFGSlTDOPz0/756UV7mV1cs1K+pJaEXbzfqcmLK9Yzw8qr5llEas"
    "CYdqV2HkwRgK6FObDp5ASIhyFifaTEXoAdQvlUqkx3LiMS3i0dPqZMFrIxJFUsAyOXA/Fk"
    "5jroQ1ZB1zB/mcJ6Dh3RW1ChnvytLwHZyEtAAmmuXLeepttC3b7+0vVgsXggVcA6RbaFUK"
    "+/yFPZl8qaUAqRNp/Sp2IjbVf6cItZEHvYBpltljH9m8WmfzNj+gttyaqdnY8p9LH5yocs"
    "dNFdsaRvV9FdhVPHNbsnN0ExbCPfLYm6y7sjDqrghRQLQG48zmXRRW8pG0TRlHdCSnMCde"
    "VItE+wcT5Bgu1lNX2CZAtV/St4AqtPhr0hr6Bx0emf3/b7nd7VSSJ58J3ctK+7/znx7ild"
    "pCMa2m949VWwHr/B2+sr7CXh+E2W6I3xGbQRq43Ylzdi53bRfZdR2UVp8zUcX+8FMJm8hY"
    "XmYknuZoPWDqV58Wx9uYq+XGUD9jR9ucrr1NTqy1W2BnZ9uYq+XEVfrqIvV3nzx7r05Srv"
    "4XSMvlxl+3msL1fRl6voENlaL1eZQ0fY7BUD+QrRxh8oDOQTQOAF1oRdDjlw0BiJjzARA5"
    "gzZI+zVn15slryAYkAW1m+JEg2nyuyEpfT+Ucb3SPbz20JjDEDlCAgxyJiBf/x3s5weCVa"
    "PefKkQxRyT7IIzUZ9q15/u8EgjmcIHm0R+3HQhjGiJtTXygAc0fcQeLHA+ZT72nhsR6Bp1"
    "PVHawgMVGstqRWjMa/nDLcfyPKUB8v0cdL9PGS56S+qMMbhbkv2blbJfkVEtSb/ZKBLpfl"
    "ZbuC0gUlUxKM1imv1015+dJRuRQrRbYVKQJdjqXLsXQ51nqM6bwdv+JJJJ1Xr7rBvI2jHV"
    "uU5I0tnqcmBt28ZG+dmUE693NgVXby3nVb7OGSUu7e/V73V5kfFIuf2vcyPSh2+stOvy8b"
    "xUY/w4yhDUkUync27lBOtUnx9pOkeRJj0hGgOor9G8NhaIKdyLc78TfN4RA8TLGNPGbtet"
    "dHASpkD5g2FUw5ARD4rwX87/XCcpnYzxrn/k6gbctz3zKQIwmBPzWYIweETwGQWMB/iBgH"
    "+v/qYhk5FI3XvpYRLQDa+A7lRX9SMnRYpvpVjCqWokNd/6qD+5J3nlw/helJQp0T3eScaM"
    "CqUSUNoRCtRUW89iKuwTDdnEpy5ea5/KBa+nK6kqE1liar72hk+iKyRORNH3DUBxw31Dio"
    "2eHVdtl7tMt0dlFnF3V2sYo59Ph/7WU2NQ=="
)
