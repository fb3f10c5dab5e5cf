from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "kernel_dead_letter" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "handler_id" VARCHAR(200) NOT NULL,
    "event_id" UUID NOT NULL,
    "type" VARCHAR(200) NOT NULL,
    "envelope" JSONB NOT NULL,
    "error" TEXT NOT NULL,
    "attempts" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "replayed_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_kernel_dead_handler_528a50" ON "kernel_dead_letter" ("handler_id");
CREATE INDEX IF NOT EXISTS "idx_kernel_dead_created_ad9ddf" ON "kernel_dead_letter" ("created_at");
COMMENT ON TABLE "kernel_dead_letter" IS 'A delivery that failed its last try, kept for ``lyo events replay``.';
        CREATE TABLE IF NOT EXISTS "kernel_handled_event" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "handler_id" VARCHAR(200) NOT NULL,
    "event_id" UUID NOT NULL,
    "handled_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_kernel_hand_handler_543e28" UNIQUE ("handler_id", "event_id")
);
COMMENT ON TABLE "kernel_handled_event" IS '(handler, event) pairs already handled: durable handlers run their effect once.';
        CREATE TABLE IF NOT EXISTS "kernel_outbox_event" (
    "id" UUID NOT NULL PRIMARY KEY,
    "type" VARCHAR(200) NOT NULL,
    "occurred_at" TIMESTAMPTZ NOT NULL,
    "request_id" VARCHAR(128),
    "payload" JSONB NOT NULL,
    "dispatched_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_kernel_outb_type_fc687c" ON "kernel_outbox_event" ("type");
CREATE INDEX IF NOT EXISTS "idx_kernel_outb_dispatc_e9dc10" ON "kernel_outbox_event" ("dispatched_at");
COMMENT ON TABLE "kernel_outbox_event" IS 'An event written in the transaction that produced it; the relay delivers it.';
        CREATE TABLE IF NOT EXISTS "kernel_task_run" (
    "id" UUID NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "kind" VARCHAR(100) NOT NULL,
    "queue" VARCHAR(20) NOT NULL,
    "owner_id" VARCHAR(100),
    "request_id" VARCHAR(128),
    "status" VARCHAR(20) NOT NULL,
    "percent" DOUBLE PRECISION NOT NULL,
    "message" TEXT,
    "progress" JSONB,
    "result" JSONB,
    "problem" JSONB,
    "attempts" INT NOT NULL,
    "cancel_requested" BOOL NOT NULL,
    "lease_until" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_kernel_task_name_6980bd" ON "kernel_task_run" ("name");
CREATE INDEX IF NOT EXISTS "idx_kernel_task_owner_i_b7d391" ON "kernel_task_run" ("owner_id");
CREATE INDEX IF NOT EXISTS "idx_kernel_task_status_a1a993" ON "kernel_task_run" ("status");
CREATE INDEX IF NOT EXISTS "idx_kernel_task_created_db2e6b" ON "kernel_task_run" ("created_at");
COMMENT ON TABLE "kernel_task_run" IS 'One task: who started it, its status and progress, its result or problem.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "kernel_handled_event";
        DROP TABLE IF EXISTS "kernel_task_run";
        DROP TABLE IF EXISTS "kernel_outbox_event";
        DROP TABLE IF EXISTS "kernel_dead_letter";"""


MODELS_STATE = (
    "eJztW21z2jgQ/isaPqUzuUxCXtu7uRlIaMtNEjoJueu003EUW4AGI7my3ITp9b/fSrbBrw"
    "QTcIDzlxb2xRbPrqRnV8rP2pAIRuy9C4KtSyIlEbV36GeN4RGBDxnaXVTDjjPVKYHED3bE"
    "3LDA3LCn9g+uFNiUYNHDtktAZBHXFNSRlDPl10AWsekPIsZIDrAEM2oTC1HpIhu7Ekkx3k"
    "VD4oCGC3R/b485Ij8IA70gjo3H9/d76k0WN+FVlPWX+VCP0e8eMSTvEznQ+Hz9BmLKLPJE"
    "3PCrMzR6lNhWDD5qqQdouSHHjpY1ab/N5Httq4b8YJjc9kZsau+M5YCziQNlUkn7hBGBJV"
    "FvkMJTKDLPtgPoQ2D9wU5N/FFGfCzSw56tYqG8/QFMZTXDuO50jdtW1zBqqTiFHhGUA5HJ"
    "mYoxDNXVAPTVEH57W68fHp7W9w9Pzo6PTk+Pz/bPwFaPN606/eUPZoqW/yiNWftD+7qrBs"
    "QhkfxcU4Jf2gdL7HvpYEzRH2Bm2UQYWVE4H2CRHYO4VyIW8COTsQiRnxWMUPBK0RjhJ5iO"
    "rC8H8LW+vz8D6b8bN+cfGzc7YPUmjvd1oKr7OgX9FGo9bzKBvrtrX2QDHfVJwOx51NpTns"
    "sBe7rqlID2DHA1socnGliHu7IvtFJjlABUI1Ega0P7VeVrqRCWkbDsB7F5FsZ/3XaucxI2"
    "4pPA2aKmRP8im7qptXoD8J4Br0JDPXnkut/tKKo7V43PScDPLzvNZG6rBzST4AvBRRr5Ln"
    "nK2RcnDluR3jPg7rY+d2fDPRoHmsvO9YfQPBmDONwYiNjIgXenEM8lIlGX5+nIBmAeMJL6"
    "wdHp0dnhydGEiEwks/hHyDWmmJqCqB9vYJlG9QI0ko5INrRxz+Q6ErjuhR82kG3A77M6zB"
    "4H752V7e2r1m23cfUplvIXjW5LaeqxdA+lOyeJVWfyEPRPu/sRqa/oS+e6lVyIJnbdLzU1"
    "JuxJbjD+aGArAlEoDWGMBd0vCxaKesJ1CWEPBrwuE2xDwhxikoqzquF6w0gdoQQP2Bw+Ym"
    "EZKQ2v8zzbtGpUHyUlmOG+DpJCU40zqLQ/6urDailuXMuoxGP63Tlqcb+csQwy8Xi2Gt8J"
    "SqBdvxx+gxxMhYuwrWb2GAVPfIcsT6iXBQKwEB6DUptQgUivR4ARcWaSdGG+gudn1OhfE5"
    "XcpNz4VlXvVfW+SdSlKt/XYx8rUL6Hq25xohD3LIcelpvO28UP14Q3dDz5wJ9yaUNUPQ9r"
    "4Nq+CGloMH83R4+CQvHIENV7NeCGmQueYOa34R3BLc/UjfjftYUgwIzDXr0L4oxW/pIfvu"
    "SWfv4iufzl8XlmUPuj5zEfE/0m9c/Rn7U1XC/zN/91a39uWbuem6YnxEL7U8J1CzeoDdmQ"
    "civZeMcCIHWzqV3+bIp7LTSn1qw7EZ9TB/WzOeYUWOXOKa2LzykHj22OM3DOP1CIuFTnCS"
    "84T7Co62BpDhZa0FLOpfTmytxQNn1BWxOK3cXu8MZjWfQ6VM1DrSXYGiIwfpZWdxiwXPB4"
    "hx4HHLkSC6nZ7a6+xwLfpeciKBkV81U4u74CPkEKIS6UHN4/SnPqpT65ItRrTqj1/wUoQG"
    "hfEeq5CPUQflkReEP78hqUNTXXV5WzCXo1F8IHMxA+SCMMv9QrlMEThxIxDj+WlMhz5fGM"
    "NE6VhY+scMM96rOiSuH11oqVZHJVk5VWk/kspgjMU4/Sdj5/pbI2ddFwiDCDLnEc5PdQ2+"
    "aclEZ8EjD3lNOq1uf98inbReeuedlCn25a5+3bdlD7TioqrVQiEFCpAbhpNS4TCI+AfENJ"
    "kkY4/8JcxGUbloqyb8yFJU+hZk7E50XdnM3BfiXNHL/ALIL81KPCfXHcg3K+YMqHLhXyiy"
    "O/MfdzV7V/Lv1yLmYmsY2AMpOsa1yc2wSznBu6Ge4JkB/Af1UoTyTlpnaz07mMpXazndwp"
    "766aLeDgb+KMJY0/QOsSw2OS2kW78QnX6p7sujXjq0vwc61o23XJKRp0z7EWDHrccwtvDm"
    "xo1DPmejD6WCdFLBb1uGe1oK9PkNNzu0cZdRc7Rk+4VnFetzivySl6gwhqDmoZh+iBZnfW"
    "GTqe2jx3dJ4f2CUfVv9f/h7kheVZ/tm0upmrhpRCNr9NH3HZxr/xOD6ep0t/fJzfple6RJ"
    "cBJlUBhAPzLUR3JYd68EaZeQqS3z2LuFS3/wq2z151M/v1H38bYhM="
)
