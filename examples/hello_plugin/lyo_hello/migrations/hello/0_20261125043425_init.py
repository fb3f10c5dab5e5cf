from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "hello_cheer" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "user_id" VARCHAR(128) NOT NULL,
    "message" VARCHAR(200) NOT NULL,
    "lesson_id" UUID,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_hello_cheer_user_id_cd55fb" ON "hello_cheer" ("user_id");
COMMENT ON TABLE "hello_cheer" IS 'A cheer for a user: for a completed lesson, or from someone allowed to cheer.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "hello_cheer";"""


MODELS_STATE = (
    "eJzVlV1P2zAUhv+KlSsmsQpCVRB3VelEL2gnCJvENFlufPKhOnawHZUK9b/Pdj6blopdsI"
    "87+z3vsY+f4zivXgKMicEkAZDeNXr1OMnADHb0U+SRPG9UO9dkyVofDhvfUmlJQm1CEWEK"
    "jERBhTLNdSq4TRgjZ0aRkIigQoG8rsahyHIGGihioJTgp8jIkRQZUiIDwQERs9faxLUoFx"
    "nYLakIzZ4pjz9k9YKnzwVgLWLQiWP046eRU07hBVQ9zVc4SoHRHYQptQs4HetN7rQZ11+c"
    "0Ra+xKFgRcZbc77RieCNO+XaqjFwkMSUbjQtCwuVF4xVLag5l5W2lrLETg6FiBTMtsZmlw"
    "W0mofxfBHgh2mAsbfXtjqjw7qSQsFty02pyp0+tiV89s+Hl8Ori9HwylhcmY1yuS23bsGU"
    "iQ7PPPC2Lk40KR2OcQvVthQfIjtJiDyMtpPS42sK7/OtaR4DXAt/iXBGXjADHuvETM/9qy"
    "M8v43vJ7fj+xPj+mS3FObbLL/beRXyy5iF3kLOzBdCTCN/A3In5aMgtw/KH6fsn529g7Jx"
    "vUnZxXYpl+/Qwcv8+Di7Ocx5J6lHuihSOrCp7+Bd3dh/BfcRug7txciRzYXSsXRBx6hHNJ"
    "RgT4yJ3kd6YyI6zeAw1t3MHldapQ7qwf94n80B6YKzTdX7I8CD2d30IRjffbXbZUo9M8dv"
    "HExtxHfqpqeejHo3v1kEfZ8Ft8hO0dNiPu13sfEFT56tiRRaYC7WmNDOw1qrNbWt/elGq8"
    "4fwgpLEq7WRFK8FxG+eMu7H8r8rK8Qbt42WsHdbn8B57fz6Q=="
)
