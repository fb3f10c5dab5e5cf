from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "ai_generation" (
    "task_id" UUID NOT NULL PRIMARY KEY,
    "owner_id" VARCHAR(64) NOT NULL,
    "course_id" UUID NOT NULL,
    "topic" VARCHAR(200) NOT NULL,
    "model" VARCHAR(300) NOT NULL,
    "tokens" INT NOT NULL,
    "seconds" DOUBLE PRECISION NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_ai_generati_owner_i_1f9917" ON "ai_generation" ("owner_id", "created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "ai_generation";"""


MODELS_STATE = (
    "eJzdlm9v2jAQxr8KyqtO2hALiFbVNIlBukZqoYKwSa0qy8QmWCR2mjhqEeK7z2fyn4LKNj"
    "Stb6L4ee5i+3eXxGsDs+Z3ymmEJRPcuGysDY4Dqm5qzkclhOFWh4HEMz8NQ141bBbLCLtS"
    "mXPsx1RJhMZuxMJ0Cp74PojCVYGMe4WUcPaUUCSFR+WCRsp4eFQy44S+0BiGD4Z4VpMhRm"
    "AqN6JYUoKwNB4hMFyiOaM+qexD4niZxmsTyVWojenUHlzpcFjNDLnCTwJeSwlXciF4npMk"
    "jDQhEbx035SUtgo7SdFk0nZXSpBRQvPtkEIgdI4TH4AZX+YJd4FTQ88El87XdH2lMISGIw"
    "dNLAch4wi+ruBQG8YlwFxvts8tqGjVgAn6173xWbv7QSMQsfQibWpmxkYnYom3qbowBe9y"
    "garA+wscvQ68nFMjrhb8O6wzoYBdNGOGMQN1ArRGgF+QT7knF2rY7RxA/aM31rS7HU1bqH"
    "dn+2YNU8fUFkAvILsiiWJ6ZFtXkv5mY/9j2H/Sx6XvhAiZe0zT5gnvsGPNVusNLaui9vas"
    "9qqEA0GofwzhPOEdEm6/iXD7AOH2LmEplpTHu4htLvf1cJZQQ6wWfSrErVPx9WAFn8zPnf"
    "PORbvbuVAhepW5cn6AuD10ajBjqiYgr9C88gXew7OUUwM6h6STIW2eCuoBYoPR9NuN1bgb"
    "W317Yo+GMEuwip/8wgRJCUxqBGOrd1P/jxUnuB3MA+VIFtA9P7NKZg02SVOb2c3/+LlQGy"
    "Qj7q/Sg+KBSjj2rTVxerd3ugRxVoKeY4FjVguTqmfd2oclf0jjp+1cN2DYuB8NrfqvM49z"
    "7g1YE06kQFw8I0xKZ9pMzaht4Hw+X5ZOjCDMsLt8xhFBO44wxb7YXSswg7qCOfZ0zQDuZv"
    "MLAsUd/g=="
)
