from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "tags_tag" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "label" VARCHAR(50) NOT NULL UNIQUE
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "tags_tag";"""


MODELS_STATE = (
    "eJzNk09Lw0AQxb9KyUlBpcbWFm+lKHqpUIMXkWWSTDZLN7sxmWBLyXd3d9Mk/aOCN2+Z37"
    "zNvHnsbj0CXl4FwL27wdZTkKH56OHFwIM8b5EtCULZaRjtNGFJBURkeAKyRINiLKNC5CS0"
    "MlRVUlqoIyMUiveoUuKjQkaaI6VYmMbbu8FCxbjGsi3zFUsEyvjApYjtbMcZbXLHnhQ9OK"
    "GdFrJIyypTvTjfUKpVpxaKLOWosABC+3sqKmvfuttt2m7UOO0ljcW9MzEmUEnaWzdkPfMY"
    "WzwH7OU+YMz7Q0CRVjZcY7V023Nr4dK/Hk1G05vb0dRInM2OTOpmdB9Mc9DFswi82vWBoF"
    "G4jPtQzdYoT3Odp1B8H2x34ChbY/o42zbJ/xtuBmsmUXFKTTke/pLk62w5f5wtz8bDcztQ"
    "m+vfvIvFruO7Vl3b65us9rK2IIRo9QlFzE462tc/aU9bmZ8dE1DAXW52w7r+Aq6jOx0="
)
