from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

# Text search of the catalog (`q`: a case-insensitive substring of the title or the
# description) on trigram indexes of the expressions Tortoise's `icontains` compares
# (UPPER(CAST(column AS VARCHAR)), which PostgreSQL reduces to UPPER(column)), instead of
# a scan of every course.
# pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: a database owner
# may create it.


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX IF NOT EXISTS "idx_learning_course_title_trgm" ON "learning_course"
            USING gin ((UPPER("title")) gin_trgm_ops);
        CREATE INDEX IF NOT EXISTS "idx_learning_course_description_trgm" ON "learning_course"
            USING gin ((UPPER("description")) gin_trgm_ops);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_learning_course_description_trgm";
        DROP INDEX IF EXISTS "idx_learning_course_title_trgm";"""


MODELS_STATE = (
    "eJztW21v2kgQ/isrf7lUSlGborSKTieR4LRcE0jB7VUNlbPYi/HFXlN73STK5b/f7Pr9BY"
    "oJJED9JSLzsms/szs7OzO+lyyCXWpSo3Hi+K5HpCN0L1Fs8x8F3j6S8HSa5nASwyMrI65q"
    "ifjIYy7WGLDH2PIIkHTiaa45ZaZDgUp9y+JERwNBPmBM8qn5wycqcwzCJsQFxuWlhH02cV"
    "zV1PngnuUb0vfv8MukOrklXiDjMcx8jwtoLsGM6CpmEkhdwgP+JFYZIzNsmskHn16rY5NY"
    "egaaQFTQVXY3FbTPnzvtUyHJ32gEMFi+TRPp6R3MQmNx3zf1BtfhPINQ4vJpU0hxIEJsI1"
    "IAChCY65P4xfWEoJMx9i2Ot/Tn2KcahxmJmfif5l/ho6XEVLXbU9SBrKiqVME8mkO5aU3K"
    "OOz3D8G4CSCCKvEJTj60+ntvDl8ICByPGa5gCrikB6GIGQ5UhQkTlJnJLFIE+mSC3XKgY4"
    "Uc1vCoy6AcERKYk1UcARhBtAZQJRvfqhahBpvAvwevXs1B+UurL4AGKYG0A9su2JbdkHUQ"
    "8DjiCcJiD1UAOJLfQXxfHyyCL0jNxFfwsvimn6wAs0JuWTnMObWnQ1t6BgehyF8VPrLteT"
    "+sNKJ7562vAmz7LuSc9brvI/GUBU7Oesc54GNfX1zZMvVtAXsHnhBTjRTgj5WfEPgRMUwK"
    "41Y0gHQsv+90u3L/CEUjDGmnq8j9c7ndaSnyEQITENcmugmPPKSt9pdW90RuHyGs/+RvH6"
    "y+ys5oIV80xxUVPFF8bC9jsUT7CU2mu3jMqtqr3W+dKkdI6A7pxefjs87gAzfH1B9Zpjch"
    "OtgIUOp8ETZytYn5c1NslImTFj0yMko7eG4cNheA+bA5E2bOysJsE4Z5TFRE+e9Br1uOcl"
    "onB7Juagz9h2BxsbVthSTYHPmmxUzqNfi0VeNN6dQl5OXYcW3EXxXhkeMzBPE/AhMwQhna"
    "8+ByocHsFqaGjw34Fb6Q4+6jRqPxopHfKysbdPEjjc8z/0jLn1654JgPkD/SUheTwsJoA4"
    "eZNilfHFnN/PIIVRvRj23ckfCCeo9ad1JwE5oXbXTO5YHSOr/I2KcNJyXnHGTCjYi6d5iz"
    "WTwI+qejfED8X/St15XzZozllG8SfybwhY5KnRsV66lLW0SNUMtY3Z/qS1o9q1lbfVOsHm"
    "GUMnv49InV42BgCbvndVdg+XChborht9fQwf7maaXxdSrlwQkjrF3fYFdXM5xUMgQbJeHx"
    "cah1+rFPLDzjwphL5CnY2MLd/hCt84hatm8IdR3LsgnXeSRWcjzUroJlEc8DgccCdSaG2V"
    "WQpq7Dt/uKULpIjbYZaEkKBMLBSvjDQ0Hqfh9dkylDE+IS5DkII98jLnAjLNCUuKEoMj3k"
    "UIKwARwD3qYQflfEnrtC58CZ5RyLLPvAzlMwhRheD+fmM5U4wDmFjtA/Vqh1qCxU+VW9Q+"
    "oBViCMnDHAGijDLR+5zo0AFVj7HPIxXKIIBxCN7oQ8wIwpCk2P/nVMioL1lrnprHT0IR05"
    "bIIGn85MBgamOroIzj6gCCuXlmiS4o9At1ifEWSxIIRgtRpLh87ImJamF8yi7w4jmcfVVt"
    "YZ0xr8EV4evG6+bb57c9h8J1YvkGLK2znRT6er/KKkEqG/aPYmkt/BxE1zkfxYc3Z+rFnI"
    "j4XOoFpxMKO0yhrhZpyuS5QEC+FxHuEivKeOS0yDfiR3hTzx/Fh4e4EtHJ1AdvFN7EizCw"
    "sQ0IlFWLDdW4OTVluWHmbfO9Z7DKdi69JzOBt7L3QQk6zKihsPeAAU9Qekzq3MwZaSCR6m"
    "biLYhCaClFkWPfRSKjt47q2+YJFe7gWY5yercqp1lnJTkleL5KY1x57yM2WpmkROt85Sbl"
    "qWso5s68i2jmwrRrZhMrQ0qk0SpQtFtFYivuJoNllrsEZNMUY+nK2D1mcNWmO7FLCemQFL"
    "q/w6D7YF3mA1qbC6m/jpuonDfpoixrP7llIqm9G2xOer3LY0ACekMd8lOhpZjnbtHaGrq8"
    "v7ocRfZggS8IvcsiGoRr84rdFoDHlIlhHUHJ1wQWA+fL+6KrYzrXuyZ25zIh6E+6JxxTap"
    "z0hJ5W2mDyzVfTpn+GpLPGHdSTYb6t29rdedZLtm9UU6yeqbe31z35Gb++/TlPP4FqanyH"
    "LEuM3JdqSxrZD1UNMWXmMxL8yxzC3mLdWoUqdE6jre1tXxtvAbPDPrKqpc2jtd9aLfe9+X"
    "BwP+kWQ8zpCe9M4vzmSFf4AXl6ny1/Dn+QJvSlytNMMyOy2YaNQX4fxF2CMwge6p3rQaqA"
    "W9GtpCjqGuDf8mteE6rzB7U9V5hW3OKzzvtxFLxc/5r3sqGiijtPkGet7ET1Kgf3TiZ+e+"
    "odrPJX4yC6s88VP0LjuZU1u7U1nLBLvRqfPwPzx7gtY="
)
