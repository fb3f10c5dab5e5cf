from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "feeds_reaction" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(64) NOT NULL,
    "target_id" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(32) NOT NULL,
    "course_id" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_feeds_react_user_id_e8c8ce" UNIQUE ("user_id", "target_id", "kind")
);
COMMENT ON TABLE "feeds_reaction" IS 'A user''s reaction to community content of a course';
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
        DROP TABLE IF EXISTS "feeds_reaction";
        DROP TABLE IF EXISTS "feeds_withdrawn";"""


MODELS_STATE = (
    "eJztXG1zIjcS/isqvgRXEcrGjtfnu7oqvPYmvmTt1JrcJlmnGDEjQOdBIpLGLLe3//26pR"
    "nmjTGwgV3M8sVmWt2S5lGP+kUvH2p9xgLdbPuGP3IzrZ2TDzVBRwx+FIsapEbH41kBPhva"
    "C1PWLs2y9rRRQIDSPg01A1LAtK/42HApUKYtSCJwTu5rngdPUnke8bxHpnr2h+z9h/kGft"
    "a5gEdD1YDB48E9NKEZE6Q3BTKNAs6EzzyviU0H0oe2uRhsrJV7cS+yBMI1MIyjXsh9rEZH"
    "tkZiJDFDRmyT32jyyDXv8RC6ckCkImlf6pSMFX+kht2LQNG+OSdShNNUGLuhCTcHTXLHRz"
    "ykKnkrDvQJN0PoueUeDBQbUMQYyCKQE0IV1CoFI0pOzqFRX0YCX1b2UWLUmAGggQgUrggP"
    "NKljdSF0SRvSOjxANl8xeA661DjOe9HnCootK6oAvKNUAVMAmyTwTnTAiGCAMxnJR+hoJK"
    "AQCvxIaalsndE4KNTp2rQjGQn+Z8S6RsJ4DJmC8Xz3B5Dhvdh7pvHxXc3i0+UB8qcdrAHf"
    "uxq8qtJsTiHWMn7o9jkLg5zOO1ZL75rp2NJ++eX68pXlROXqdX0ZRiORco+nZijFjD2KeN"
    "BEGSwbMMEUNpv5DkQUhvGHk5DciwLBqIjN3jBICQHr0yjEr6n2j34kfDvAtiX8c/LPuGsZ"
    "tm735rbTvbvqdLu10seHXSh8KTHJlwI/XC4M4vvho6s3BcRSa9jAyx/ab+rHpwcWAqkNKJ"
    "5O4Kp9tILUUCdqxypFOTtmeaxfDqmaj3VWpoA4dPhTsE4IKdjpTJXAmAC1AWhrI/q+GzIx"
    "MEN4PD15Aup/t99YtE9PLNoSJlY3797EJS1bhKCnIOP0tgrACf8OgnvcWgLc41YluFiUB9"
    "fNmA6kFTAuiO2hXh7q1WaLnNCmYC7Nzc94tnBOz8oKXRD7JKRjGL8WfY4hW02fc0IbQnmX"
    "1Dnn+S0Lck5oi1W51gF/23U2CRFsgEN6LJRioDHuqLsZEOMMpzvgbffhIRZzsV0pWlpnxZ"
    "95xJNobCWfMiPz+WxxzQWKm3LZ80AfnS4B9NFpJdBYVPq0hCmjfC1M5Vfl+AsIc0fdBMJH"
    "m4J2gD34tnV08uLk7Pj05AxYbC9nlBdPoH1905nr2ugymP+6u715yrHRc/AMOHyV/yMh1x"
    "vDNRN79iIeGi50E9v7EuEnQoQ1j7T+M8zqbP11+9eiOr/86faiGKdiBReFAcGIdZXRSPi3"
    "Yyiw2VWHonbJ9TikU2gC1Apm8TFnAekrObIWgD0ygQkebkKmG2AQhhxIIyQiZvqgbEPWUe"
    "EXVgPp+5FSLldU0oZLGEnDR6zi+8yLFhUjlm0mP55hvPfEYHSuX1/dddqvf86NyGW7c4Ul"
    "LUudFqj1ou2ZVULeXnd+IPhIfr+9uSoO3Iyv83sN+0QjI7tCTro0yGKSkBNS3palOcEVxz"
    "kvuYPDXIMXDG5FOI3d2mcy7LEH/uSopznnVUc9L7kf9W0Z9Tkfu+095vn7D5kcNBJ61H+Y"
    "UBV0cyWpemiIZHw2xyu7iAVf/fiGhXaNZY4WuADoztbxDBXgY6LyCTULpWzJKizLRaPWqE"
    "ihgg7sK2Hb2JID66UNHWvltce4oLFw5dFPGReuO74dUuPCVPIAqqJxIYwSG5PpIbgqcSBb"
    "ty6L54WMKgGINePswIyx+XjkeQeNkv+z5vrvBUbXzl8iXBAdjUZUcaaXXCFbaamrOlReZy"
    "Z18SLXs8s8Va912ZFbKdWXCOzi6sDh4TLp1MPD6nwqlhUzP4DTysuJWaEdRHo9ir2C/dyg"
    "fbga9VgQuHcvmoi0bLGVYDnexRtUiIawFPODZCbpJvN4Cpe4lyHg2o+0xkC8LqQa0ZD/Fw"
    "PeUFJz3CK9qYGgtmH3aJRMxdpbuBcYY49kwEKItsEOjWjACDfnUI2SE1u3kGgpYiauiWLf"
    "usahzrrnWajOFbM0MEBVZuZd7QEU3arPbK3tj79iey74oDKHOPcznZNAjA3J9hofl0D8W6"
    "t1fPyidXh8evbdyYsX350dzjKJ5aKnUooX199jVjH3DSdpxmqTlAzcsnNlwr+D0+T60+Pb"
    "u1z97K1RbhV171Zt2K0y7P2c/EgHqBUAx/w7ge9TeY+rXztPZ5xnaY+fbm++T9iLaeg82N"
    "Yar6LOM4GdgLswKS+lzkdPqPNRWZ0fGW4gnOd2CKqmVVviEpkCytbneoY4P+VKxGsjM7UG"
    "MC+ub9pvfpuv1xdz1lIufutctQu475Ot1Vr/1SZbNxgsvpJhaPtUjBTjgsbCMLGfMi6MET"
    "0v0gzTCJ5HnJyGUAtpLnZzcVx5kXQFubmxVyyN5Yl3nm4RK4Zh76p49rHZ1sVmmYFd1hXI"
    "iOygM7D+0GEf/s7APVsC27NKaM+2ZGvrdmO8gc2t+10LO+ZSVe1a2A6X6mc8m+jPOxyalC"
    "x2qsYZzoVe1a1g1hf6RhN/KLnPMHE9GUp3DNKdUUz2Jv+dCOmONmLqO1YoYDQGF1VLjtd6"
    "q/4Ly6/bYOi/qoXY9PTtKpjnpXbQPK0/A76P+HfNPG13xP+GUT8eiKJ9mhUtNlAqy7rE2n"
    "BsRBIxPBrjy9EINM1M4Rcu65rsWu6cxd9Vq7gXdTy+H3M0EzkcpHi7UIMM8KQ/LgUTz5sx"
    "KIbn73E195z0mOYBXhqAy8NgtKb3wkj50JgRwAAqhq0wEdhNbppo8NGN3cPdJDfSZG5UEL"
    "Ing2lyPcFS+Yqcv29jq/2y8T418Uzm789zCncfQO8zQM/2fPMXOnq73TDvk0B7L/t5J4Hi"
    "Ew1lHzs96rDAw9Yp40L/upMcFdSEpjd4kQnV7rijdUbxlix7rRUZM+XY45unFAtYyB8Z/H"
    "f0kve97gbAN5fKsTM8/pg98xiAOpKQGcOUPogvxLKnojUxE+5XLvMt6xbbDsydcKuvrsrK"
    "7C+w+oQLrKy+rAh6QWyduG/vxpIFMJdmtzLKZYhfScX4QPzI3Mada+gLnX+PQ/kSw+eJbO"
    "lAFpAVncxmg6JuAQQwQzHj/K723cv25VXt4xexHG+5GQbQ13kJmrRssf2Y5HiXO+eF2+QU"
    "jbMr8oHIyMQXH8ZHtCZDHrJZsoVrMuRBwMR5zirIfsl+rLV2vE0yZnJbQurZXf8Nwo22Zo"
    "XbI/P25/SAUEy5oMVqEKncJSxxGZ4ZC3E/P6iLtG3F10ICTPZYANqp+B6Xuuchl+ed5y6Q"
    "ZN9A7cGBNXcogl2MhOs+dHAcGds6KkiTXFpNC6ClADqA1dpzbu6tQ0bx7ke3lLKJQ2v7DN"
    "DnygClOrpabJeV2l/GtsRdRpWGr/oqkqzM57+OZHWwrQeedBomG6dvpI5vaG+GdbOSndYy"
    "05U9wZTOUvOvsFpPtV/4EpJ9gF/9/e0D/LW5aR//DwZbsyk="
)
