from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_community_d_course__bd38fb";
        DROP INDEX IF EXISTS "idx_community_d_reactio_93f0ec";
        DROP INDEX IF EXISTS "idx_community_d_categor_3eb6e4";
        DROP INDEX IF EXISTS "idx_community_d_last_ac_ceaf2c";
        DROP INDEX IF EXISTS "idx_community_d_lesson__405725";
        DROP INDEX IF EXISTS "idx_community_d_created_62fddc";
        ALTER TABLE "community_discussion" ADD "mentioned_users" JSONB NOT NULL DEFAULT '{}';
        ALTER TABLE "community_reply" ADD "mentioned_users" JSONB NOT NULL DEFAULT '{}';
        COMMENT ON COLUMN community_discussion."mentioned_users" IS '{handle: user id} for the handles naming one user';
COMMENT ON COLUMN community_reply."mentioned_users" IS '{handle: user id} for the handles naming one user';
        CREATE INDEX IF NOT EXISTS "idx_community_d_pinned_a1944e" ON "community_discussion" ("pinned", "last_activity_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_lesson__460fbd" ON "community_discussion" ("lesson_id", "pinned", "last_activity_at");
        CREATE INDEX IF NOT EXISTS "idx_community_d_categor_139fd9" ON "community_discussion" ("category_id", "pinned", "last_activity_at");
        CREATE INDEX IF NOT EXISTS "idx_community_d_pinned_3df2b6" ON "community_discussion" ("pinned", "reaction_count", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_pinned_f9e7e0" ON "community_discussion" ("pinned", "created_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_course__01722e" ON "community_discussion" ("course_id", "pinned", "last_activity_at");
        CREATE INDEX IF NOT EXISTS "idx_community_r_author__f78b67" ON "community_reply" ("author_id", "created_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_community_r_author__f78b67";
        DROP INDEX IF EXISTS "idx_community_d_course__01722e";
        DROP INDEX IF EXISTS "idx_community_d_pinned_f9e7e0";
        DROP INDEX IF EXISTS "idx_community_d_pinned_3df2b6";
        DROP INDEX IF EXISTS "idx_community_d_categor_139fd9";
        DROP INDEX IF EXISTS "idx_community_d_lesson__460fbd";
        DROP INDEX IF EXISTS "idx_community_d_pinned_a1944e";
        ALTER TABLE "community_discussion" DROP COLUMN "mentioned_users";
        ALTER TABLE "community_reply" DROP COLUMN "mentioned_users";
        CREATE INDEX IF NOT EXISTS "idx_community_d_created_62fddc" ON "community_discussion" ("created_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_lesson__405725" ON "community_discussion" ("lesson_id", "last_activity_at");
        CREATE INDEX IF NOT EXISTS "idx_community_d_last_ac_ceaf2c" ON "community_discussion" ("last_activity_at", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_categor_3eb6e4" ON "community_discussion" ("category_id", "last_activity_at");
        CREATE INDEX IF NOT EXISTS "idx_community_d_reactio_93f0ec" ON "community_discussion" ("reaction_count", "id");
        CREATE INDEX IF NOT EXISTS "idx_community_d_course__bd38fb" ON "community_discussion" ("course_id", "last_activity_at");"""


MODELS_STATE = (
    "eJztXVtT4zgW/iuqPNFVdBeENDDU1tZySU9nJxCWhNnZmZ5yFFtJtDhyxpahU73895Xkq3"
    "whVoghBL10dyQd2f7Okc5NR/2jYTqzmU8wXXw6sx3zrnECfjQInCH2j1zfLmjA+Vzq4W0U"
    "jmx5vDGKx4886kKTsu4xtD3EmizkmS6eU+wQTjQcisHINbA1HIIJoh4gDnDR3MbI2wUzRP"
    "hQDzgua6d4jE0YNIxdZwYickuQf+LPtByTPRSTST3Tsy/8y0cGddhcU+Syh/zxRyN5CB+S"
    "0DT+/JP9xsRC35GXHpp0zu+MMUa2JUEfzCPaDbqYi7YzPOkQ+kWM5Z85MkzH9mckGT9f0K"
    "lDYgJMKG+dIIJcSBF/AnV9zgPi23bItYgtwWclQ4J3TtFYaAx9m3OSUwcvkLQ1DOOqNzD6"
    "7YFhNHJcjihSnAmbTAY1kxD2qp4AYMJf4eNPzebBwVFz7+Dw+HPr6Ojz8d4xGyveN9919B"
    "i8TIJWMJXArPNz52rAX8hhYhiIKW94FDSQwoBKsCZBX+amzIXzKXSLeSBTZXjBPjLLiwj5"
    "p5gRNSTcSJbRS7BjBr8bNiITOmU/D1tPIP3r6c3519ObncPWBxnuq7CnKbo48FmgrZWAtj"
    "TQ1YE2XcTBMCDNA33BeiieoWKwZcoM2FZI+in6x1uEnn2g1SP2ItzqnoB+0Lls9wenl9f8"
    "cTPP+8sW+J0O2rynKVoXmdadwwyb4knAvzuDr4D/BL/3rtoCXsejE1c8MRk3+L3B3wn61D"
    "GI82BAK7UrR60Rao9cpYzvUtsabxhB8+4BupaR63GaTtnYfNesOcu2QAIngmcc3MfdtNFw"
    "zmRg4riLEpsi7q5uVphpkmWWRbkAFGjwnJaGrjnF98gKuYLFpGr6+va2c6GgrX0fW584zS"
    "praLnSbvxt7BOTfwYQT+J/tP7eqGlRPbGIxOZ1EKyKtLyLT39aL4u/FRRFNH4LVcTxXgUV"
    "cbxXqiJ4l6wiPNufqIAbjV8PuK9rddYMbfq1cggP0PcSoz5D9nJS3HiFbWHQ/m0gqdUI0J"
    "3L098+SKq127v6ORqeYsB5t3eWAT7euXOol3pSaZLl/tS6EN+rS7IDf6q53zpqHR8ctmI3"
    "Km55ynuKPKUE0LRazHinjmMjSIpBlbSpDOqI0dWFatzysqJ81ut1JVE+62Rl9fbyrH2zsy"
    "/kmg3CFBXjre32ctF+t3Z7SrFgz/Q9j8erClZkSPzllxtkw5I9LbHHL+K5KghD+BWbIguP"
    "kfRHrZFM1OzipDArdnJkUCu6OZZMVK+jM8eEBBuzvGPw8OQuSPfb0KMGexF8z1+ybBSbRH"
    "gZjBk+kcZE3lsUtymfOBju+K6HKg62keexZ1YbzNbe1InidKmvFp0eZT95xxRbFtI+32v7"
    "fBKzqvomEtEWen81RGIda6Him0TjtwLcl3ZLOHjGlM5sVcRjIg37CrBHub486v/s966KUU"
    "/TZI1obFLwP2Bjrza3MLWBj3xsU0y8T/x5qnt4Yzj8xxQSi6nJ4RCMmWa2ACaAGQWAi1VR"
    "2nTp+OrM5Og+zcws3zJqgk9QwkymuX0PuavwNE26Gazlj1Vm7Y+AUSeAfwzA1iPjlytYFX"
    "IQMMgYWwH7YjEmy2zlxVkLP2O7K6/j28SfCU522BtCYqJ8LDIifsEY2dwfMfmYIkuVYde3"
    "Z91O/2v74gTEc3wjX9td1jCN5FXRINhvVjAI9pulBgHvkvkRmr85hjwZ50mIdJRHIcpjIR"
    "utFuWRKdcQ5dlMx37TgzoRJrmoTprLyMKrMVki1DzeZB7nox8V0w55Qp180MHw9xoMT3Od"
    "YmorZf1jgq1wkmU77/NeleQ0G1Vq6Ym+zLpKR1qrxjPl8OzqYc23o4yWBjETRKVwdFVE5R"
    "i2RlTeBeBEycePxm+GY79KzGYdANfiqSfpFQXPMCHSnqGCZxicdFbEOiHSWCtgzWtCFisY"
    "7hKVttqzsN5j9KCMqkykQc3tCwW5eBWHqIh+C92iN+IGVQotZI5PVLbTM6cutF2ZP2qVBz"
    "mP8BfHRXhCfkGLXCqi9EhVusThTYKbO1DFml34EB+GyUoXQyGISPM+9g7g6rbbbTxWOcrG"
    "DHbDdR7WeY5tACdvd8/Kn2XL2ioYPR+sG269bCtInj+KJ38+VP3UbNuE2IsdkeTLcdkpyX"
    "DJKh+UNGhIuLTevEcQYIOBMwYQJBPssl9s+wEImtNd4DlgzFx3xBEFo4UgwB6ABITcA/91"
    "MMkfm1j35IW15vLxUIFmvso8Kn1KDVY7yfheSs2faZLrYrUKUetWlaB1qzxm3cpXVCUrX8"
    "0czhGu80TuZmzx67WI5d3m+TaxUpnBhiK81CzOSZlkGJ+f9s9PL9pP2cU1K+VLx+Kws/c7"
    "NWl59UJuWHXVPItJDZjQLtXOgykC0LcwBbYzOQHsYYhYHx1iL8AOceiUq0x/ziMS4saWAF"
    "OPn3bzEFexHhj5FLAne76LPuQVdA3zVymyoNBlvSUVB+nf+kKYjbwQJpRm5TqELN0W6vb1"
    "lyKEi0WApIB1hmwLoV7/IU9pX6pqQklE2nzKVkjH2q5ysZJZEnvYBpltVjH9m+WmfzNn+j"
    "Nt6ando5BQ6CsUlItm9KG7cknfrkN3ChXoNbsnN+Fh2EaxWxJ3V3dHXKTghZQLQGE8jtfU"
    "hNowY4NImvKOSWlBoK4aifYJNs4nSLG9qqZPkWyhqn8FT2B5Zdgb8goaF53++W2/3+ldna"
    "SSB9/ITfu6+58TcWftIhvR0H7Dq6+C9fgNYq9X2Eui8Zss0RvjM2gjVhuxL2/Ezu2yu0/j"
    "YxeVzddofL2XAeXyFhaasyW5mw9au45TFs8uvV5H36Sjb9LZgA1P36TzOgdu9U06WwO7vk"
    "lH36RTQroZrNU36RTqeH2Tjr5JZ6tr+PRNOu+hFErfpLP9PNY36eibdHQ8dK036cyhy+x1"
    "xayNRLTx1aOhfAIIRBSVGe+QAheNEfsIkxnwmHrIHue9tOpktSR/UtHUqnxJkWw+V/ixa+"
    "rMP9roHtlBIpNhjD3hSfGxiFjh/7i5MxxesVbhLLucITLZB14/lWPfmuf/RiCYwwnidVxy"
    "P2bCMEbUnAZCATx/RF3EfjxgOhVPi2q4GJ6uqnuvIDFxYL6iVozHv5wy3H8jylDXEulaIl"
    "1L9Jw8p+PSRmmik3fuqmQ6I4J6U5080OWLiGU2fxmeU5EyX+FoncJ83RRmIB3K5+4yZFuR"
    "8tFn7/TZO332bj3GdNGOr1h2ps9JqG4wb6OOZ4uS9onFs2pi0C/K8NaZGXTmQQ5MZSfvXb"
    "fZHs4p+e7d73V/5flBtvgd+56nB9lOf9np93kj2+hn2PPQhiQK+Tsbd6jg9FD59pOmWYkx"
    "2QhQHZUdjeEwMsFO+NudBJvmcAgepthGglm74q4w4DDZA6btMKacAAiC1wLB94qwXC72s8"
    "a5vxFo27zInwdyOCEIpgZz5ILoKQASCwQPYeNA/19dzCOHrPE60DKsBUAb36Gi6E9Ghg6r"
    "HHVmo8ql6FAfdtbBfc47IderMD1NqHOim5wTDVk1UtIQEtFaVMRrL+IaDNPNKRuQrhksDq"
    "plbyKsGFrzsmT11cFmb51LRd50NauuZt1Q46Bmh1fbZe/RLtPZRZ1d1NlFFXPo8f8bbYBt"
)
