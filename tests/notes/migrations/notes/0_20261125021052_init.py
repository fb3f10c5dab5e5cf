from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "notes_folder" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "name" VARCHAR(100) NOT NULL UNIQUE
);
        CREATE TABLE IF NOT EXISTS "notes_note" (
    "id" UUID NOT NULL PRIMARY KEY,
    "slug" VARCHAR(100) NOT NULL UNIQUE,
    "title" VARCHAR(200) NOT NULL,
    "priority" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "folder_id" INT REFERENCES "notes_folder" ("id") ON DELETE CASCADE
);
        -- aerich ignores Meta.constraints: CHECK constraints are written here by hand
        ALTER TABLE "notes_note" ADD CONSTRAINT "notes_note_priority_range"
            CHECK ("priority" BETWEEN 0 AND 5);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "notes_note";
        DROP TABLE IF EXISTS "notes_folder";"""


MODELS_STATE = (
    "eJztl21r2zAQgP9K8KcOupK6oS1jDLK80FCajsTdoGMIxVYcEVlyZZk2FP/3SbLl16RpRr"
    "qlsC9JfC+5u0e6k/xsUSZQdDJkxEPc+tR6tigMkPxRVRy3LBiGuVg9CzgjhSGYF4azSHDo"
    "CqmbQxIhKfJQ5HIcCsyolNKYECVkrjTE1C9EMcUPMQKC+UgsdD4/f0kxph56klGzx3AJ5h"
    "gRr5Iu9lRsLQdiFWrZiIqhNlTRZsBlJA5oYRyuxILR3BpToaQ+oohDgdTfCx6r9FV2WbWm"
    "ojTTwiRNseTjoTmMiSiVOwOFzAJgfOuA6cABwNoBkMuogitTjXT1vkrho33auehcnp13Lq"
    "WJTjOXXCRp6AJM6qjxjB0r0XooYGqhGZf2gPpuYO0tIF/P1djXyMqU62QNx8NFG8AnQBD1"
    "xUI+nrbbL4D83p30rrqTI2n1QYVkcvunvTHOVHaqSxK1f+fLEmwlmEF3+Qi5ByqaWis21+"
    "Fr5ja8niACdYFN9mkbj+XnK5YgA5yvgDEplqDo6L+wBonZX0aapagpMpttwthUBXZQl0AK"
    "fV2Siq0ilUg156ABuGUKUmN2MDPw7m7U32EIxjH2TpTP2zSs9XkeU1cxaOlI6qPzxXrb/b"
    "OuZXW/np3rdg1ZJHyulRrXlqEYkdjfZSga+/9DcdNQPC7tYYEF2enMyR32w/cfj7wqYftV"
    "hO0XCNtNwiHHjGOx2uG+VHbZfmvaF+b2Qd+aCqAuR6pyAEUTaV9qBA7Qeq5VzxpZL3M9MT"
    "/e43aWBXq3lKzMyb2ZqzO6GUyd7s03FS6Iogei+XWdgdLYWrqqSY/Oaxs//5PWj5Fz1VKP"
    "rfvb8aA+5nM7595SOcFYMHl4PwLolWaqkRpqlVVPX3jATu8dFZ8/aqQDu6Hto5UaV+I64y"
    "bgIeMI+/QarTTnkcwJUnfdKVB/i31feDddgKWYw8f8BljdV7J6DxEk0nOzO+11+wMr2fye"
    "sf/LdPIb8Ec7Hw=="
)
