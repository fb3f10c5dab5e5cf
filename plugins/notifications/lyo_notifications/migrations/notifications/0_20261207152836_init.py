from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "notifications_address" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "email" VARCHAR(320) NOT NULL,
    "disabled_reason" VARCHAR(200),
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON COLUMN "notifications_address"."disabled_reason" IS 'Set when the address bounced hard or was rejected: no more mail to it.';
COMMENT ON TABLE "notifications_address" IS 'A user''s email address, copied from auth''s events (auth''s ``api`` gives none).';
        CREATE TABLE IF NOT EXISTS "notifications_delivery" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "channel" VARCHAR(8) NOT NULL,
    "key" VARCHAR(100) NOT NULL,
    "category" VARCHAR(32) NOT NULL,
    "kind" VARCHAR(64) NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "body" TEXT NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "not_before" TIMESTAMPTZ,
    "error" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_notificatio_key_00d7f1" UNIQUE ("key", "user_id", "channel")
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_user_id_2c1432" ON "notifications_delivery" ("user_id");
CREATE INDEX IF NOT EXISTS "idx_notificatio_created_47f25b" ON "notifications_delivery" ("created_at");
COMMENT ON COLUMN "notifications_delivery"."title" IS 'What to say (never a secret: account mail is sent from its event, not stored).';
COMMENT ON COLUMN "notifications_delivery"."status" IS 'pending | deferred (quiet hours) | digest | sent | failed | skipped';
COMMENT ON TABLE "notifications_delivery" IS 'One notification on one channel for one user: at most one per (key, user,';
        CREATE TABLE IF NOT EXISTS "notifications_device" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "platform" VARCHAR(16) NOT NULL,
    "token" VARCHAR(4096) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "app_version" VARCHAR(64),
    "locale" VARCHAR(35),
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_user_id_f68bff" ON "notifications_device" ("user_id");
COMMENT ON TABLE "notifications_device" IS 'A push token of one user''s app install; a token belongs to one user at a time.';
        CREATE TABLE IF NOT EXISTS "notifications_notification" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "category" VARCHAR(32) NOT NULL,
    "kind" VARCHAR(64) NOT NULL,
    "title" VARCHAR(300) NOT NULL,
    "body" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "key" VARCHAR(100) NOT NULL,
    "read_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_notificatio_user_id_b8bfa6" UNIQUE ("user_id", "key")
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_created_2db050" ON "notifications_notification" ("created_at");
CREATE INDEX IF NOT EXISTS "idx_notificatio_user_id_9d114a" ON "notifications_notification" ("user_id", "created_at");
COMMENT ON COLUMN "notifications_notification"."key" IS 'What made it (an event id, an admin send): one notification per user and key.';
COMMENT ON TABLE "notifications_notification" IS 'One item of a user''s in-app inbox.';
        CREATE TABLE IF NOT EXISTS "notifications_preference" (
    "user_id" VARCHAR(64) NOT NULL PRIMARY KEY,
    "channels" JSONB NOT NULL,
    "quiet_start" VARCHAR(5),
    "quiet_end" VARCHAR(5),
    "digest" VARCHAR(8),
    "last_digest_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON COLUMN "notifications_preference"."channels" IS '``{category: {channel: bool}}``, only what the user set.';
COMMENT ON TABLE "notifications_preference" IS 'One user''s choices; absent values fall back to auth''s preferences.';
        CREATE TABLE IF NOT EXISTS "notifications_attempt" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "provider" VARCHAR(8) NOT NULL,
    "target" VARCHAR(100) NOT NULL,
    "status" INT,
    "message_id" VARCHAR(300),
    "error" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL,
    "delivery_id" UUID NOT NULL REFERENCES "notifications_delivery" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_notificatio_created_d30ea2" ON "notifications_attempt" ("created_at");
COMMENT ON TABLE "notifications_attempt" IS 'Every try to hand a delivery to a provider (SMTP, FCM, APNs).';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "notifications_notification";
        DROP TABLE IF EXISTS "notifications_attempt";
        DROP TABLE IF EXISTS "notifications_address";
        DROP TABLE IF EXISTS "notifications_delivery";
        DROP TABLE IF EXISTS "notifications_device";
        DROP TABLE IF EXISTS "notifications_preference";"""


MODELS_STATE = (
    "eJztXG1v2zYQ/iuEviwBvCKx87ZuGOCm6ZZtSYrGe8G2QqEl2uYikapIJTXa/PcdKcl6V6"
    "TESWxDQFFEJI+kniOP9xxP/mIwLumEWlhSzsSroW37RAjjNfpiMOwS+KOiRQ8Z2PMK9apc"
    "4rFTlDRxSnIspI8tCY0m2BEEimwiLJ96qqkSHaJAEP8bgYiLqYMi2R6yuEeJjSY+dxEO5E"
    "y1uCFMCrQVPV5dYY9eXaEpvSECMc7I9is1ps0tGJSy6dN0HzD6KSCm5FMiZ8SHQf75CMWU"
    "2eQzEfGjd21OKHHsDMBqKia1VS+60pRzT1ccz7D/TjdX8x+bFncCl+VEvLmccbaQgXdUpV"
    "PCiI8lsVMQs8BxItXEReGsoUD6AVlM104KbDLBgaMUpaTDaSRlhmmeX4zMy5ORaRoFJcYS"
    "KeCjIgvWAywACsBqJFz82XQIm8oZPB7s3YXjJGCErdSAfww/HP88/LB1sLetBuSwisK1dh"
    "7V9HXVne4CSxx2ovFPANdKbwP3QmA5YMcFCdrJLnh2uAf9nQZ4Q6tKwHWdQjxB2KZCvbxt"
    "+gQLmF0LrEtEH4R6tICfGHTjkkh0OyMMwa6P7Qga84BZYEfgJW3EfXSLBfLJf8SC2cIoHL"
    "ncJ0ibHskRlUUDtbxua5Xf32mifGhVqXxdl1V+4NlKLSaWRb2/hRpJXVJh1jKSObXbkeir"
    "+I913HqwqO0L5syjBVoD/uj07ORyNDx7r4ZzhfjkaPyGoxNV09el81zp1kFOT4tO0J+no5"
    "+RekR/X5yfaHi5kFNfj5i0G/1tqDnBYcdNxm/VoZ3CKC6OZ6+OtMl1ysaqgjG2rm9hhZqF"
    "Gt7nVW2LVW7fzZdghqdaZwpcNc2cayIlcT1Z57xELR7gvKQk73VeTm6IPweE5mobzjCzEU"
    "Y2cWhYzOHJ8/kNtYmPti7PRu976N3xWQ8N35+LEl/l0b09wjUp80re0Okpk+UbuNQlgcWf"
    "36qRcV5dj2SqpvDtd/3+YHDY3xkcHO3vHR7uH+0cQVs932LVYc1mfnP60+n5KLs3VUG9nx"
    "Lrtc3xmZbZQG/lqMFxdVR5WB3ljyqJfdgUbfBNJDYQ3d1G7sBujTuwW3QHhMQyEEWMK41I"
    "InC/IXkxx6+tKenv7h3uHQ0O9hYWZFFSZzhiI5HA6YInCMdgS8KYlVphh/qhLKbRyh3UrN"
    "xBceUS3+etjO9CYPMA3m8E8H4NwPtFgC1whx/GFLKSz8MUntUBWU+iEEGU4gkaxmxsIPJd"
    "Sy3Y77+fvq2IC2TFcioPAmq/UsJreAbX6Da0WqGy0mrQb3pX5F9FlIsQv+M+oVP2K5lroE"
    "9hLphZpATULHl6m+pxPRFOSpOl6uPbBe/JrzGAAkqIDK3+8PJ4+PbEuHtRjrtQQjXJTeup"
    "JctNL5r7ae4FIygtj/Q/giwgqYw4aMJ9/ayC1a8RlsiFFaxLPMVVr8m8p+t6Bcq7tJ7/ZZ"
    "HIdg/N+C2Bl0N8IglDVEahfURFTKeJXcWX/zGgT12XBN6jno2PjyHT1fZu+WbufkZt/DAJ"
    "mKUR1yOp//Z+NFbO7vVqSPMq3Ka8sO/wJNcpKa8tWvgtEE6JbCBtXnJQIjI1TbGNmm8grk"
    "8SjoAThUx5mWNUs3xTMhuI86Df6Aaw5gKwsIThvVqt4aj9BoK7fPsrqXRIq5hlLPB88Bot"
    "nQbjzxm4cZIjgedoi2lHDSNBgOdL8PAsiwfgqumrTfDXhPLbdJLGwo3rKYcRCQnkxi65RF"
    "l+988fjhpzu8Rqjcjnijhq3H51tb4MV3F08tcoE/mIMdw6G/61nYl+/HZx/lPcPIX58W8X"
    "bxrGrKv3WGXQ+inh9gizFWwt91okhr4C8ZkQH5Y02voUUCKBIwW+2FYVdEqAUn0N98JXGJ"
    "w60Ayer6nnEbuwwZbUZ70/0OSc2q0+p3YL5xRsanNMgE6W2NP6AGRWcgkByBWL/q5JwLEk"
    "M6EYcezi+F0cv4vjLzuO36V5bZrWl5DmlSyPKGOqxIl6E0m++/UDcXR89967h1Ti1potha"
    "qrh7tnuSy4oRYx6q4KdIPeAy4KFoINUvm9QMyAfF0ThvhkEbj/RiAYFVF1/+Q43wMfC5uM"
    "icPZVCi2FjdVIX6oVlah4Hguv/sl58t1If4uxL9uISYP7DJwG7cNxGmZDYzj7R40IZ/5kz"
    "lFPg8KcTxlj1rF8WKBDYR3b+e7JgCrZpUQh5UlIJszLGatkV5IdZ9Y3Wsw4Kg1b4gvaLuP"
    "fXJim0e3l4+0wy3cLvyfSGwevoP9JnH2/eow+/56xzI6WtsFMzqtr+83a+epJ6OaqGea9V"
    "rTdZYXb5TbRyVxFaPGMZ+m7NuQUo/55yIRbyZSmlyXYmcqmyWfUZdpkLKyHzse3vHwVfJG"
    "niDXrstW6rKV1noFr0O20np/prb6eUEvlKfwFJlB6jAsgv3L5cV5xWdLUfs8MaCWSoFxqH"
    "iyS62UhzEOqCMp+JFq2JdwMhQ+9arIo57zRlQHeVVsXp50mKboYlt50mgLs/gTFbuH4AHb"
    "LmUqe8refq0vrzLfyKhPX8LbLGYjeNmKJMhl9v782duKiz6ApKfEulSt1SHkxTjMekXfuk"
    "yiBwffVisM895XSauE1WZLpBr1WodgvKxwowBMFEOxZpxaRHyPQErZ6xvsBEQoQQcpFPSP"
    "AIW/TpiMIsoDNI/vsvuhw1XjWtUBmuizu5IcrGqHNS2zvk6rcXX1JY6DAKTRS71GY86du7"
    "urqx54OM4c3erPQmZRGpAgJb/E95iOXthB1vn3ppDYb/UTRzmxzbs0bHJnWH1lWLgxDPEi"
    "7WJIGaEO4nsgDj8daYNvIrF54C75e2MHC2mGeD3A7y5KdwxrlRlWd9NdvcvWk2Kt5E333f"
    "8kQFk2"
)
