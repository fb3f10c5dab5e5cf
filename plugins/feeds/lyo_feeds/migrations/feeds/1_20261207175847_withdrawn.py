from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "feeds_withdrawn" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "content_id" VARCHAR(64) NOT NULL,
    "activity" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_feeds_withd_content_1872b4" ON "feeds_withdrawn" ("content_id");
COMMENT ON COLUMN "feeds_withdrawn"."activity" IS 'The activity''s fields (JSON), ``into`` for one object of an aggregate.';
COMMENT ON TABLE "feeds_withdrawn" IS 'What moderation took out of the feeds while content is hidden: an activity of';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "feeds_withdrawn";"""


MODELS_STATE = (
    "eJztXG1z2zYS/isYfqk043ps2bV97s3NyLHT+trYnVi9tLU7IkVCEs4UoAKgFV3O/727AC"
    "m+iXpJpERW9MUWF7sA+GCBfQHAD06X0kDtN33NnpgeO+fkg8O9AYUfxaI94njD4aQAn7XX"
    "CVPWtpdl7SgtgQClXS9UFEgBVb5kQ80ER5kmJ4nAOXlwXBeehHRd4rpPVHbMD9H5L/U1/K"
    "wxDo/akz0Kj/UHaEJRyklnDGQvChjlPnXdfWw6ED60zXhvba088AeeJRCmgGEYdULmYzUq"
    "MjUSLYjuU2Ka/EaRJ6ZYh4XQlToRkqR9qXlkKNmTp+kDD6TX1edE8HCcCmM3FGG6vk/u2I"
    "CFnkzeigF9xHQfem64ez1Jex5iDGQeiBHxJNQqOCVSjM6hUV9EHF9WdFFisDcBQAERKEwS"
    "FihSw+pC6JLSpHFQRzZfUngO2p62nA+8yyQUG1ZUAXhHIQMqATZB4J28HiWcAs5kIJ6gox"
    "GHQijwI6mENHVGw6BQp23TjGTE2V8RbWsB49GnEsbz/k8gw3vR91Th471j8GmzAPnTDjrA"
    "d+/Aq0pFpxRiLcPHdpfRMMjpvGU19LYeDw3t11+vL18bTlSuTtsXYTTgKfdwrPuCT9ijiA"
    "X7KINlPcqpxGYz84BHYRhPnIRkXxQIWkZ08oZBSgho14tCnE3OP7sR980Am5bwz/G/4q5l"
    "2Nrtm9tW++6q1W47pcmHXSjMlJjkC44Tl3GN+H54tvWmgBiqgw28+rH5tnZ0UjcQCKVB8V"
    "QCl/NsBD3tWVEzVinK2THLY/2q78npWGdlCohDhz8G64SQgp2uVAmMCVBrgNYZeO/bIeU9"
    "3YfHk+MZUP+n+dagfXJs0BawsNp19yYuaZgiBD0FGZe3ZQBO+LcQ3KPGAuAeNSrBxaI8uH"
    "bFtCAtgXFBbAf14lAvt1rkhNYFc2ltfsGrhXV6llbogthHIR3D+LXocwzZcvqcE1oTytuk"
    "zjnPb1GQc0IbrMpOC/xt29kkRDABDunQUPCewrijZldAjDOs7oC33YWHWMzGdqVoaZUVf+"
    "YRT6KxpXzKjMzns8WODRTX5bLngT48WQDow5NKoLGoNLW4LqN8zXXlrLL8BYSZpa4D4cN1"
    "QdvDHnzbODw+PT47Ojk+AxbTywnldAba1zetqa6NKoP577vbm1mOjZqCZ8BgVv6fhEytDd"
    "dM7NmJWKgZV/vY3pcIPxEirHmg1F9hVmdrb5q/FdX51c+3F8U4FSu4KAwIRqzLjEbCvxlD"
    "gc0uOxTOJVPD0BtDE6BWsIoPGQ1IV4qBsQD0iXJM8DAdUrUHBqHPgDRAImKm6mUbsooKv7"
    "AaCN+PpLS5opI2XMJIajagFfMzL1pUjFh2P/nxAuO9GYPRun5zdddqvvklNyKXzdYVljQM"
    "dVyg1oq2Z1IJeXfd+pHgI/nj9uaqOHATvtYfDvbJi7RoczFqe0EWk4SckPK2LM0JLjnOec"
    "ktHGYHXjC45eE4dmtfyLDHHvjMUU9zzsuOel5yN+qbMupTJrvpPeb5u4+ZHDQSOp7/OPJk"
    "0M6VpOqhIJLx6RSv7CIWfP3TWxqaPZYpWmADoDtTxwtUgOdE5RNqFkrREFVYlosGjUGR4n"
    "GvZ14J28aWLFivTOjolPce44K9uTuPfso4d9/xXd/TNkwlj6AqCjfCPGJiMtUHVyUOZGvG"
    "ZXHdkHqSA2L7cXZgwrj/dOi69b2S/7Pi+h84RtfWXyKMExUNBp5kVC24Q7bUVld1qLzKTO"
    "r8Ta4Xl3mq3usyI7dUqi8R2MbdgYODRdKpBwfV+VQsK2Z+AKeltxOzQluI9GoUewn7uUb7"
    "cDXo0CCw7140EWnZfCtBc7zzD6gQBWEp5gfJRNIu5vESLvAsQ8CUHymFgXiNCznwQvY/DH"
    "hD4emjBumMNQS1e+aMRslUrLyFB44x9kAENIRoG+zQwAsoYfocqpFiZOrmAi1FzMQUkfRb"
    "2zjUWXNdA9W5pIYGBqjKzNw7j6DoRn0me21/fortuWC9yhzi1Gk6JYEYG5LNNT42gfiPRu"
    "Po6LRxcHRy9t3x6el3ZweTTGK5aFZK8eL6B8wq5uZwkmasNknJwC26Vib8W7hMrj49vrnb"
    "1S/eGuV2UXdu1ZrdKk3fT8mPtIBaAXDMvxX4zsp7XP3Wmp1xnqQ9fr69+SFhL6ah82Aba7"
    "yMOk8EtgLuwqK8kDofzlDnw7I6P1E8QDjN7eCeHFcdiUtkCigbn+sF4jzLlYj3RiZqDWBe"
    "XN803/4+Xa8vpuylXPzeumoWcN8lW6u1/qtNtq4xWHwtwtD0qRgpxgV7c8PEbso4N0Z03U"
    "hRTCO4LrFyCkItpNnYzcZx5U3SJeSmxl6xNJYn3nl6RKwYht1X8exis42LzTIDu6grkBHZ"
    "Qmdg9aHDLvydgHu2ALZnldCebcjR1s3GeA2HW3enFrbMpao6tbAZLtUveDfRn3Y5NCmZ71"
    "QNM5xzvapbTo0v9I0ifl8wn2LietQX9hqkvaOYnE3+nnBhrzZi6jtWKGDUGjdVS47Xaqv+"
    "hO3XTTD0X9VGbHr7dhnM81JbaJ5WnwHfRfzbZp42O+KPz1qVrVN6CGuOcVIp41zb1EoOMU"
    "PAnn5bgIw8ZQ9im6POeH/fXLgnQ4joDXt8J17SgIbsicJ/Sy9ZqFU38MBrQlp2igezs6ex"
    "A1BHEoJBo1LV46v65r4GmMIRGMdPNXKmA1OtXPWl+qzM7mr9R1ytN/qyJOgFsVXivrkp7z"
    "kwl1a3MspliF8LSVmP/0TtlsI19MWbfsOs/HmVl4ls6agokKU3mqwGRd0CCGCFoto6Xs27"
    "V83LK+f5i1iOd0z3A+grn2I80rL59mOU413sBCpu4En7oRYtxCMRkY4/yRIfHh31WYi3Mf"
    "GAkMaDOn0WBJSf56yC6Jbsx0prx+/cxEw2WV3LnkfaI0wrY1aYucxjfo7rxMNv1aDF2iNC"
    "2uuhcRmeZg3xpBGoizBtxR+sAZjMgSW0U/EN05rrIpfrnuc+bUMhdGNB3Zg7FMEuRtx2Hz"
    "o4jLRpHRVkn1waTQugpQA6gNWaE7j2rUPq4VdpbJC3juO0u7T550qbpzq6THCXl9p9JmKB"
    "W9aVhq/6kmRW5vNflFwebOOBJ52GxcbqG6nhG5pvVtlVySxrmeXKnK1MV6npl+tXU+0Xvh"
    "65yz9Xz7+XGeBvZP75+W9RQgfk"
)
