from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "kernel_task_run" ADD "args" JSONB;
        ALTER TABLE "kernel_task_run" ADD "sent_at" TIMESTAMPTZ;
        COMMENT ON COLUMN kernel_task_run."args" IS 'What the message carries (``{\"lyo\": meta, \"kwargs\": ...}``), so a run whose';
COMMENT ON COLUMN kernel_task_run."sent_at" IS 'When the broker accepted the run''s message; null: not (yet) sent.';"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "kernel_task_run" DROP COLUMN "args";
        ALTER TABLE "kernel_task_run" DROP COLUMN "sent_at";"""


MODELS_STATE = (
    "eJztW21z2jgQ/isafymZ4ZiEvF57czMkoS03Segk5Npp0zHCFuDBSK4khzC9/PeTZBv8Sj"
    "AFByhfEpB2ZfnZlfTsavmpDRDFyK5cImheIc4R1d6CnxqGQyQ+pPSWgQYdZ9onGzjs2CFx"
    "3RTiuj2V7zBOocGFRBfaDIkmEzGDWg63CJZ6NWAi23pEdAx4H3IhZtnIBBZnwIaMA07HZT"
    "BAjughFLTb9pgA9Iiw6KfIseG43a7IJ5nEEI+ycG+Zg7rY+uEinZMe4n2Fz7fvotnCJnpC"
    "LPjqDPSuhWwzAp9lygFUu87Hjmo7t3oNzN8rWTnljm4Q2x3iqbwz5n2CJwoW5rK1hzCikC"
    "P5BE5diSJ2bduHPgDWm+xUxJtlSMdEXeja0hZS25vAtE3T9ZtmS7+rt3RdS9gp0Aih7DcZ"
    "BEsbi6kyBUBPTuGPP6vVw8PT6v7hydnx0enp8dn+mZBV8012nT57k5mi5Q2lMGt8aNy05I"
    "SIcCTP12TDs9KBHHpayhhT9PsQmzaiepoVLvqQptsgqhWzhXjJuC0C5GcZI2h4JWsM4ZNY"
    "jrjH++JrdX9/BtL/1m4vPtZuS0JqL4r3jd9V9fok9FOo1bpJBfr+vnGZDnRYJwaz61pmRW"
    "ouB+zprlMA2jPAVcgenihgHcJ4j6pOhVEMUIVEDq8N5Fflr4VCWITD4kdkkzSM/7lr3mQ4"
    "bEgnhrNpGRz8B2yLJfbqDcB7BrwSDTnykLEfdhjV0nXtSxzwi6vmedy35QDncfApJTSJfA"
    "s9ZZyLE4WtcO8ZcLfqX1qz4R6O/Z6r5s2HQDxugyjcUBCxoSOenUA8k4iEVV6mIxuAuc9I"
    "qgdHp0dnhydHEyIyaZnFPwKuMcXUoEi+vA55EtVL0cOtIUqHNqoZ30d81UrwYQPZhng/s4"
    "ntsf/cWd7euK7ftWrXnyIuf1lr1WVPNeLuQWvpJLbrTAYBnxutj0B+BV+bN/X4RjSRa33V"
    "5Jygy4mOyUiHZgiioDWAMWJ0LyxYyOox1SWY3Z/wuiywDTFzgEnCzjKG6w5CcYRs6EBjMI"
    "LU1BM9pEqyZJNdw+ow3gIx7CkjSTTlPP1I+6OKPsy65MZaSiQe6S/PEYt74Yypo4nGi9F4"
    "yQ+Byl44vAccaFEGoC1X9hj4I74Fpkvlw/wGIUFdLEJtZFGAul0kGBHBBkoG5isYPyVG/x"
    "aL5Cbhxvdd9L6L3jeJuuzC9/U4x3KE78Gum58oRDWLoYfFuvN28cM14Q1Nl3fIUyZtCHfP"
    "wxqIks9DGmrYO83BiFoieMTAUme1wA1iJjSFmJeGdygxXUMl4t8pCYoEMw5y9Uw0p6Tylz"
    "z4klP62Zvk8rfHl5mB9lfXxR4m6knyz9Hf2hrul9mH/7qlP7csXU8Mw6V0ofMpprqFB9SG"
    "HEiZkWw0YyEgZenULns1RbUWWlNrlp2IrqmD6tkca0pIZa4p1RddUw4c2wSm4Jx9oRBS2d"
    "0n/MJ9gmkxB3Kjv9CGllAuJDdX5IGy6RvamlDsFmSDWxen0eugax5qzYWsTn3hF2l1EwuW"
    "KzTeglGfAMYh5YrdllUdi/jOXQZEyCiZr8SZeR3ik3AhQKhsF88fJjn1UkfeEeo1J9Tqfw"
    "4KEMjvCPVchHog3iwPvIF8cQlKTa71VflsjF7NhfDBDIQPkgiLN3VzefBEoUCMg48FOfJc"
    "fjzDjRNh4QjnTriHdVYUKbzeXrEST97FZIXFZB6LyQPzVKOwk8/bqcxN3TQcRA0/SxwF+b"
    "2IbTNuSkM6MZi7UmlV+/N+8ZTtsnl/flUHn27rF427hh/7TiIq1SmbRIPFFQC39dpVDOGh"
    "IN8iJEkinF0wF1LZhq2i6Iq5IOTJlcwJ6fxSNmdzsF9JMscLMPMgP9XY4b447n44n9PlA5"
    "Ud8osjvzH1uas6P5denAuxgWzdp8worYyLEBtBnFGhm6IeA7kj9FeF8qSlWNc+bzavIq59"
    "3oiflPfX53XBwfeijCWJv4CWId3F3LLzZuNjqrs62XVLxkc2LtrLRZEC+Q04LLTPspxEVp"
    "D4VBoYkFILMVBqt38+aPaYPAixIeKwDB40eb3QY7KlUqk8t9t7ZcAIgKpiddQnDCXS70se"
    "/wEH42D0iCiwUZeLITHoIMBk5QzsCRcEJfnEEaEDRNkbQBEUkdieyuC/8hko57jA5V1IbW"
    "O2CmF65JUvdSgRhgDQMJAjL19UwZKL37DAKd6p4cVDCAelMeJ7ypbJu5yljLjFG9Xu1zq/"
    "STVm2OiuYy5o9KjmFpY4bajVU9a6P/tIypcuZvWo5sYcJ78l8+xa2GKL1fvEVHd2Xjc7r0"
    "m5Tw1Ry+hrKdU+fk95VrEPnMq8VOOTbdglV9X8Lj9c+8U8UnYRjfwJgZxSAtns+8SQyjb+"
    "GO34eJ7rxOPj7PtE2RdLh4pFlQNhX3wL0V1J9YF4Ik+9rs1O24RUdmXKOXMcr3qYPf8P7M"
    "biPQ=="
)
