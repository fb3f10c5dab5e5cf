from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "gamification_moderated" (
    "content" VARCHAR(64) NOT NULL PRIMARY KEY,
    "hidden" BOOL NOT NULL,
    "deleted" BOOL NOT NULL,
    "changed_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "gamification_moderated" IS 'A community post hidden or deleted by moderation: awards deriving from it are';
        CREATE TABLE IF NOT EXISTS "gamification_progress" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "achievement" VARCHAR(64) NOT NULL,
    "count" INT NOT NULL,
    CONSTRAINT "uid_gamificatio_user_id_136218" UNIQUE ("user_id", "achievement")
);
COMMENT ON TABLE "gamification_progress" IS 'How many counted awards a user holds toward an achievement (withdrawals take one';
        ALTER TABLE "gamification_entry" ADD "content" VARCHAR(64);
        ALTER TABLE "gamification_entry" ADD "reverses" BIGINT;
        CREATE INDEX IF NOT EXISTS "idx_gamificatio_reverse_fd0109" ON "gamification_entry" ("reverses");
        CREATE INDEX IF NOT EXISTS "idx_gamificatio_content_974dfd" ON "gamification_entry" ("content");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_gamificatio_content_974dfd";
        DROP INDEX IF EXISTS "idx_gamificatio_reverse_fd0109";
        ALTER TABLE "gamification_entry" DROP COLUMN "content";
        ALTER TABLE "gamification_entry" DROP COLUMN "reverses";
        DROP TABLE IF EXISTS "gamification_moderated";
        DROP TABLE IF EXISTS "gamification_progress";"""


MODELS_STATE = (
    "eJztXG1T2zgQ/iuafLkwk+vQ8Hr05mYI5a50CumUcHdT6DiKrSQ+HMm1ZcDt8d9vV7bj9y"
    "SmBELOXyBZ7UryI2mf1UrO98aITsyhqVNpCv6qQy3KddY4IN8bnE7wQ7FCizSobWeLUSzp"
    "wMrZaYOE3cCVDtUl6Ayp5TIQGczVHdNWVYDlIfFc5vzkEluYXLoHRI4Zcb0JEUP8aDrEYs"
    "aIOYRx6ZjMbZFrZkti8kAR+k2gBe5CI9hnbNQQOrRq8tGS6ve4+dVjmhQjBjoOtHL5BcQm"
    "N9gdc6Ov9rU2NJllpPDFvmimgbWoQk36tio4GlPnd6WODzDQdGF5E54xsX05BnwjG3hIlI"
    "4YZw6VzEiAzD3LCscmEgW9BoF0PDbtrhELDDaknoVDhdZBN2JZQ9POuj3t/LinaY3cMEYW"
    "CeRDkS44TgHEXiExoXeaxfhIjuHr7vZ90E4MRqCFDf55+Ono3eGn5u72BjYoYB4Fk+0sLG"
    "mrontVBZU0qEThHwMejHoe7445OuGyGPHYJgM4iB8CeCSIEY/XQgTv5rLwHmEPfv6l3d7a"
    "2mtvbu3u72zv7e3sb+6DrupuvmhvxqB0Tv44OeulxwMFOAqJaW4biI9GZR75t1AizQkrme"
    "0pywz+Rmj6KvqwrNFY5gJwGDW63PLDhTcD697J6fF57/D0IzY3cd2vlsLvsHeMJW0l9TPS"
    "5m5msUwrIX+d9N4R/Eo+d8+OFbzClSNHtRjr9T43sE/Uk0Lj4lajRhKjSBz1Hj3d8Dqx9F"
    "AwoPr1LXUMLVci2qJMN180aU+yEsrpSI0ZgovdTBHWMbhwv5zPguKqbMamVnO5rMsZofgw"
    "B6TfD7xIv0+anI2gqhtGhsIhlDjsRgR1bxApQDP08KA68OGr41ms388z2aPWfsUv1IIgNl"
    "BfE4WtoHLtmvkbLeIKwgVhN/D0LajTYBY0Af8JNOIwm+GCCy1cIm9NnZVR42UDa1cARvU3"
    "vmT48jLJcvAXii8bQtc9xwl8gRLASpLQn+ALPCdzXDD/Ukq2RTw7y+8XkmyBzw/5cnU59g"
    "l9fjnzrkKo89y+finBzvzgZqUim+VP9Pbr7b3t/a3d7en8nkpmTet82ALU7AZUsOiMjS3W"
    "cMK2NzcXmLGgVTplVVkG45AMFkY41F9DfB/fIcQMWwHhlNEawtze2VlkGu/slE9jLEsjrS"
    "KjQnq7uDh5Wwx00iaDs+eZxiu0XADtMJRYFbBnYKuA3Qp2JMm9hnrQNJ6uLuxKfmFq8KAZ"
    "u2IYLtsvRJFzBXwTJjXC8xGebkcq7TiSVg+KyFYN5WfJNo0cyjFnNKhEe2mreo7Pn+PJDX"
    "kO6NlpvYzpGub1Xm4eT4nSdOGwB6Zv05ZrOMwvNH0beqrcqK9W+vZOtzw3GJCyFO5UpVU1"
    "jZuyXPBYMjgLFEN1VEgGArOdB8RgeBh4g5MW06EwfV341Oz3g2xAv79Rdgz5Q/XVx46rRo"
    "3lyc86k5QCfKu9AOBb7VLAsei+pqiaop6bot4Lz+HUKieoSKEqPf2TsJtLTj0gj68etcyh"
    "DxMhOKVzicN0Zt7gsZximQHzBTcU0QhPDsTdT6iCe3qo5YAgKkPTstwcVT1q7VdcDAlnt0"
    "hs+phywJZgShe1qbKfLEhulw21SFskfzAYcVX5UeAzpuseQISNX4ceV/eNiGoJ/2z/1nj6"
    "ncvcBF45A0aDtSj/RfpryH6v2/sL0B9olfKfKstcsXn6kK5Od9TpjnVMd9jUtwQtWErvz7"
    "tnJQfpsUl2cE1dkn+JZbov8UR9xrAiGKkRjdZO8/Tw7+yyOvrQ7WSHCivo5NLmQVTxgDWW"
    "MV3DNVYH8ssL5E+FMZ0KJaF8rFI1mJ+kLBfINeliMoFZJ32COJOxaRiMY8hsMIthWmjgk7"
    "BSFV6H9+5AYN5gjD50xISYklCHFWSeHrH2K35ryrHh0FveIhQ2AK6kPl4WbGK0TAReUXRC"
    "MwsQ2CAe7AgstDZdYnsDy9QJHcEU/9GU1jMcaf6/U1rBtCk43xTCYpQXQx4bZRAfgNWyXP"
    "JU8rQE2el2P6Tcb+ckc3R5dnHaOYZIX40CKJmy5EQzXJgVwU5Y1WhXQDvMSzwkl5iyXMMQ"
    "5IWEHKVh/krFHB8dgc/jloccU42qEYedNJwbcLwTtwT66kNk4OEdiIjxaXBINRYWXuoXKA"
    "SSJ1Qfm0DvE+BO0oz4H2omkl4z5PxczPHYDVxxHIeNgnfzIP6QgSF1CYOK1Ht8/ht804EN"
    "PNPCFx9gqyAmtieZC4FI+XsKifxIoke5lxXq9w3q9w1W01sv/XpxYlVUgDljVkO90I1Nrw"
    "jkUl8y1V+bV1Z/6K2OleL9c+kwel3O+mF5Vc53Y7O5jH8EEDPdU+8JGtR3STMk0fDleAxP"
    "yTdg2g2C/AtEnT0BzF9peaQ662stq+aFyjlWnWpU80uxRe2ZshtPS8Du0a0CZ8KihjMHJ3"
    "WlBp6oeBdfAmjCZtb+/QWGKDOww/14Bjx80m/hXm7hM/uEzdNFdY2L3lHjRTnU+ocx1ve0"
    "qyD1tHo/jHHBLaHPiEDD8qoRqBebzT/kSqd5pMmcKB3kYN6GGW+I4Hr4gxQobyUNWsqi6G"
    "L149VbJSmEmIBhnRyqk0Mvxb/WyaF1gVp5nsU3DZF6/ZsfRT9VpjjsYSFZ2rSOyVYlJlvJ"
    "G0j3/wFK0tsR"
)
