from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "learning_quiz_version" (
    "id" UUID NOT NULL PRIMARY KEY,
    "version" INT NOT NULL,
    "questions" JSONB NOT NULL,
    "pass_mark" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "lesson_id" UUID NOT NULL REFERENCES "learning_lesson" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_qu_lesson__48c9bc" UNIQUE ("lesson_id", "version")
);
COMMENT ON TABLE "learning_quiz_version" IS 'A lesson''s quiz as it was at one ``quiz_version``, answers included: what the';
        CREATE TABLE IF NOT EXISTS "learning_quiz_attempt" (
    "id" UUID NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "number" INT NOT NULL,
    "answers" JSONB NOT NULL,
    "results" JSONB NOT NULL,
    "score" INT NOT NULL,
    "passed" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "course_id" UUID NOT NULL REFERENCES "learning_course" ("id") ON DELETE CASCADE,
    "lesson_id" UUID NOT NULL REFERENCES "learning_lesson" ("id") ON DELETE CASCADE,
    "quiz_id" UUID NOT NULL REFERENCES "learning_quiz_version" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_learning_qu_user_id_fa9dab" UNIQUE ("user_id", "lesson_id", "number")
);
CREATE INDEX IF NOT EXISTS "idx_learning_qu_course__13cf46" ON "learning_quiz_attempt" ("course_id", "lesson_id", "passed");
COMMENT ON COLUMN "learning_quiz_attempt"."results" IS 'Per question: answered right or not.';
COMMENT ON TABLE "learning_quiz_attempt" IS 'One graded submission. ``number`` is 1.. per (user, lesson): the unique constraint';
        ALTER TABLE "learning_lesson" ADD "pass_mark" INT;
        ALTER TABLE "learning_lesson" ADD "quiz_version" INT NOT NULL DEFAULT 1;
        ALTER TABLE "learning_lesson_progress" ADD "attempts" INT NOT NULL DEFAULT 0;
        ALTER TABLE "learning_lesson_progress" ADD "score" INT;
        ALTER TABLE "learning_lesson_progress" ADD "last_position" INT;
        COMMENT ON COLUMN learning_lesson."pass_mark" IS 'Percent of the quiz''s questions to get right to pass; null: the plugin''s default.';
COMMENT ON COLUMN learning_lesson."quiz_version" IS 'Goes up whenever the quiz (its blocks or pass mark) changes; attempts record the';
COMMENT ON COLUMN learning_lesson_progress."attempts" IS 'Quiz attempts so far, and the score that counts (best or last, a plugin setting).';
COMMENT ON COLUMN learning_lesson_progress."last_position" IS 'Where the learner stopped inside the lesson (a block index, a video second: the';
        CREATE INDEX IF NOT EXISTS "idx_learning_en_course__9865af" ON "learning_enrollment" ("course_id", "enrolled_at");
        CREATE INDEX IF NOT EXISTS "idx_learning_le_course__a0206c" ON "learning_lesson_progress" ("course_id", "updated_at");
        -- aerich ignores Meta.constraints: the CHECK constraints are written here by hand
        ALTER TABLE "learning_lesson" ADD CONSTRAINT "learning_lesson_pass_mark_range"
            CHECK ("pass_mark" BETWEEN 0 AND 100);
        ALTER TABLE "learning_lesson" ADD CONSTRAINT "learning_lesson_quiz_version_range"
            CHECK ("quiz_version" >= 1);
        ALTER TABLE "learning_lesson_progress" ADD CONSTRAINT "learning_progress_position_range"
            CHECK ("last_position" >= 0);
        ALTER TABLE "learning_lesson_progress" ADD CONSTRAINT "learning_progress_attempts_range"
            CHECK ("attempts" >= 0);
        ALTER TABLE "learning_lesson_progress" ADD CONSTRAINT "learning_progress_score_range"
            CHECK ("score" BETWEEN 0 AND 100);
        ALTER TABLE "learning_quiz_attempt" ADD CONSTRAINT "learning_attempt_number_range"
            CHECK ("number" >= 1);
        ALTER TABLE "learning_quiz_attempt" ADD CONSTRAINT "learning_attempt_score_range"
            CHECK ("score" BETWEEN 0 AND 100);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_learning_le_course__a0206c";
        DROP INDEX IF EXISTS "idx_learning_en_course__9865af";
        ALTER TABLE "learning_lesson" DROP COLUMN "pass_mark";
        ALTER TABLE "learning_lesson" DROP COLUMN "quiz_version";
        ALTER TABLE "learning_lesson_progress" DROP COLUMN "attempts";
        ALTER TABLE "learning_lesson_progress" DROP COLUMN "score";
        ALTER TABLE "learning_lesson_progress" DROP COLUMN "last_position";
        DROP TABLE IF EXISTS "learning_quiz_attempt";
        DROP TABLE IF EXISTS "learning_quiz_version";"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuEvmwCZI0mG3QXvsMBTuK2vk3sbOK2i60LmZZoWxeJUkkqL9fLf78hJV"
    "mvdqXE76svjU1ySPmZITl8Zqh+12yCGbXopHHu+owTrYm+axQ78kOu7ghp2POSNbJI4JGd"
    "aq4bcfMRFwwbAqrH2OYEikzCDWZ5wnIplFLftmWha0BD2eGsyKfWN5/owp0QMSUMKr580b"
    "Avpi7TLVN2zm1/on39Cp8sapJHwoM2XGDhc9nAYAQLYupYaNDqCzzgPbGLKlLdJitl596d"
    "PraIbaagCZqqcl08ears48fOxTvVUv6iEcBg+w6NW3tPMAqdNfd9y2xIGVk3IZQwOWwCKQ"
    "lEiG1UFIACBYL5ZPbDzbjAJGPs2xJv7Z9jnxoSZqRGkv+c/it8tEQzXe/2+vptu6/rWgX1"
    "GC6VqrWokLB/fw76jQFRpZoc4PxD6+bgl7eHCgKXiwlTlQou7VkJYoEDUaXCGGVhCZvkgT"
    "6fYlYM9EwggzU86ktQjgpimGMrjgCMIFoBqJqDH3Wb0ImYwteTN28WoPypdaOAhlYKaRem"
    "XTAtu2HVSVAnEY8RVnOoAsBR+z3E9/ikDL7Qai6+qi6Nb/LJcjD3yaMohjkjtj60tQ0sEP"
    "32n33Zs8P5NzuJ6MFV608FtvMU1lz2uu+j5gkNnF/2zjLAz9b6vGW3qe8o2DvwhJgaJAf/"
    "THiNwI/IxKLQb0UFaGft951ut33TRFEPA9rp9ts3V+2LTqvfbiJQAWEOMS145AFtXXxqdc"
    "/bF02EzXv56wPrq7wYlVqLFixFuZVotm2/RGOx9BpVZjI8FlX1dXHTetdvIiU7oNcfzy47"
    "tx+kOjx/ZFt8SkzQEaDU+aR0xIypdb8tOkr5SWW3jJTQHu4bb09LwPz2dC7MsioNs0MElj"
    "5RHuV/3/a6xSgnZTIgm5Yh0P8QGJdY2VSInc2Rb9nCorwhh63qb2rvGCE/j13mIPlTER65"
    "vkDg/yNQgSBUoAMOhwsDRrcxnfh4Ap/CH+SyI9RoNA4b2bmytE7Lb2lynMVbWnb3yjjHso"
    "PslpY4mOQM4wJqhOWQYuNIS2bNIxRtRB92cUbCDzR71H7SgpPQIm+jc9W+7beurlP6uYCd"
    "UtacpNyNqPTgbUZns07Q507/A5Jf0V+9bjurxlm7/l+afCZYC12dug86NhOHtqg0Qi2ldd"
    "8zX6j1tGSt9W3ReoRRQu3h08danzkDL9B7VnYJmg8NdVsUv7uKDua3pJXGdwnKQxaMsHH3"
    "gJmpp2oSZAieFLjHZ6HUu99viI3nHBgzRF4fT3Zwtj9Hdh6VFs0bQplr2w6RMq/Eqj3ral"
    "/Bsgnn0OC1QF2qbvYVJI+5crovCaXrRG/bgZbWB0c4sISfOAqo+yN0RzyBpoQRxF2Ekc8J"
    "g9oIC+QRFjZFFkcuJQhPoGYCvybnfr8C+2++9V/YxARxvNfP5z+gs1bQ1/ag/3pblVuHe+"
    "LO20zyVc6Jky3BFM48Zji2HKlgw1gQGAr3kwqxIV2EIj+KD2k9sC1ojNwxmGEg3IRPzH1Q"
    "RghVR9JEx3DoJBJANHpS7cEsMUWhstB/XIuiwDxSJ8Ol9j6gI1dM0e0fl5aACUFNdB34Cl"
    "CiZkVhSCsOlil08/EsVawMQjWsFpPq0DkMcyEdY+X3utDze10sapVngIl8hJ9Pjk9/Pf3t"
    "l7envynrhaJZya8LvMVOt/+DEFSEflm2K2q/h0TXaRk+8XQ+n3ia4xPDxaBaMDUltMyY6n"
    "as8C8IoeaOE1mE8/C+cxmxJvR38pTj1RefHXYX2NzWCcUMP8wW0rRhAQImsYkIpnvr9rx1"
    "0dae55/TVrsNJ84ihftw+qxSaiMmaZElJ2pIhzHKp0jsW6mNLdEmeJhERkZst6mqOh9jo/"
    "kYCY2V3Q8TInu4JS4/9pM09xzMi3m/jGhN+G4LD1iG5jdcx5PbzYvCOxnZmvDdNsK3dnpr"
    "p7d2eis6vSGvXOjwxpxzKWfXjpsv2dGNbQ1s1FJ9ZD3d2mndqNM600sO67nkWFLkxxTZDq"
    "wGy2HJ6sTs9SVmh6lJeYznp4AlRLYjA0yOVzkD7BYWIUP4jJhoZLvGHW+i4fDL94Emf8wA"
    "WsAn8igGIBp9kmWNRmMgXbJUQ8M1iWwIlc9fh8N8ZtiqB9twxhjh4O6rHCDHor4gBTG0uW"
    "tgoez6FsM3O7ISephz3cHsrsr2kpR5EaTrOZ5p14QZMj/SHat0SRmO/YnDH2kbACsSLgJf"
    "CDFrMhXyi/xh/1ADNZWAZ/sTS4aVwxHzE3AlI6xY5SoqfU8Yr+ZUZMXWN5eOK6r9vUs48j"
    "30MIWHuZdx0FA16MASPFwpkcuUNpA05ENkTDGdENBNFK5HjBguM6VsTuvLHmBAQ1zllyeE"
    "KX8gck0/aBo29NAcytj/p6DJsDCXd9k2Uufqzl+B95fEq3N1903rZXJ1a0KvJvT2hND7+6"
    "Q9LjdJtE5UfAFeoc+2FLw+xX71vuC1DnJ9Ni8XkOzJuVuBbNeTK8gK00tCan9hekmUgpLO"
    "LEn4XHViSZ1YsmkHecWJJTt4v95KLyJVKIxOV7++6b2/ad/eyhcgzPoZ0PPe1fVluy8v18"
    "/yJrIERTnWf9m3672AC6tCJMYSNTObpWA4gQFMrnOvGqg5uRraLLQ25kJ/QVw1J7fN5Pdn"
    "df1JqNtR4NkQhrhwPY+YsJ5wy4yqpPeBDnBAWgZXQo4QRvfQwkWBLTULSdAl9z+ghm2Bxc"
    "pLXFPXMsjhUdADAMmFuqPFoXod5Of8g9Bcy0iKbO180+RJI+af5cUgzI7UTR+JNDdcpVAs"
    "5FUiwBYdjBT0DEnDl1oLwhWgCCHACgpeVbGSEVa90MqnqrLARu23ePZvbGmt80D/Lnmgdb"
    "Bg/qSqgwW7HCzY7JXyF1ET2ZciVFRQSmj7FbTZaE6cjPvqaM7evXriKBPNSRlWcTQnv7rs"
    "ZaBs5YvKSgbYv6z8ZHSqMGqQCV+VChkk42el4gXqzQ0Thk04LnN/5Fhchn8aaDikvjMibD"
    "iU+jhuNJSGDqTajkLlHgaZY4G5ooQqsvaw/CEGFCSCQzmc2iY+qAPsBWrkN1e+X8KTFbKF"
    "gx8tx3dQMJZ6QUV4Kpz/Kol8VETNVNlBQXwkXivixjLfCtReh0PqcMimjwArDoeE0yKH8F"
    "zWIhaob4QUcX4q57KA8pt/XyEhsv77CptxmleS5Q9V8PyVoE+I7AL0Mk18lhTejPN7g7Rw"
    "lyHqFueWlxLasPrWS59u22RZxX0MUrBznrkueJt0/oUMUrR3jkBqB0FdgNhZr3eZMuGzTv"
    "Z/U/h4dda+OThW9gyNrODgUee47z+BWe5FFftPYK7F/a8pxxVCqgiFaoAmRGo4awa3ZnC3"
    "HtoSLGl2TVgKsPuZcJ5FN7Eebh8DHcE/l4FO6Kc8A524nftjBroVBwvU1VXMkSXQA/zBQb"
    "rVcJjsdDg8Cs+g0I4atm8Ss4keZC5PUXbYUnsf0FlKkbojC6XRhVl5Jo5Y7pCKbqDPzIL2"
    "UGmJqWKjxxbjImKg5xPQ8b4QIVm/C2eriOXqt9Y3cmF9h/iG2asKqtBvKaFdIOC2lvvczO"
    "s3tg31+u0FNbPzemanpiHqc/P2HD9KnJvL3GOvL2UvAn0Fl4yf/w9ln5kk"
)
