from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_kernel_task_owner_i_b7d391";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE INDEX IF NOT EXISTS "idx_kernel_task_owner_i_b7d391" ON "kernel_task_run" ("owner_id");"""


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
    "KzTeglGfAMYh5YrdllUdi/jOXQZEyCiZr8SZeR3ik3AhQKhsF88fJjn1Ukd+mVB/08gITx"
    "IzoUuQ7zuq/apUW/3PQQ4C+R3VnotqD8Sb5YE3kC8udanJXWBVPhsjXnMhfDAD4YMkwuJN"
    "3VwePFEoEOPgY0GOPJcfz3DjRMAY2rvnhTmss4UxxCpceReuFRaueQQnD8xTjcKOPm+rMj"
    "d113AQNfwEchTk9yLszbhEDenEYO5KpVVt0PvFc7bL5v35VR18uq1fNO4aflg8CbZUp2wS"
    "DRZXANzWa1cxhIeCl4toJYlwdi1dSGUbtoqii+mCaChXniek80uJns3BfiV5Hi/2zIP8VG"
    "OH++K4+5F+TpcPVHbIL478xpTurur8XHrdLsQGsnWfMqO0Ci9CbARxRvFuinoM5I7QXxXK"
    "k5ZiXfu82byKuPZ5I35S3l+f1wUH34syliT+AlqGdBdzy86bqI+p7kpo1y1PH9m4aC8XRQ"
    "rkN+Cw0D7LShNZXOJTaWBASi3EQKnd/vmg2WPyIMSGiMMyeNDkzUOPyZZKpfLcbu+VASMA"
    "qmLWUZ8wlMjML3n8BxyMg9EjosBGXS6GxKCDAJNFNbAnXBCU5BNHhA4QZW8ARVBEYnsquf"
    "/KZ6Cc4wL3eiG1jdkqhOmRV9nUoUQYAkDDQI68l1G1TC5+wwKneKeGFw8hHJTGiO8pWyav"
    "eZYy4hZvVLsf8vwmhZpho7uOuaDRo5pbWP20oVZPWev+7CMpX7qY1aOaG3Oc/JbMs2thiy"
    "1WChRT3dl53ey8JpVANUQto6+lFAL5PeVZdUBwKvNS+U+2YZdcwf67/KbtF/NI2VU08tcF"
    "ckoJZLPvE0Mq2/g7tePjea4Tj4+z7xNlXywdKhZVDoR98S1EdyXVB+KJPPW6NjttE1LZVT"
    "DnzHG86mH2/D/aget3"
)
