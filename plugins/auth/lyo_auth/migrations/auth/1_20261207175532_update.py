from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE INDEX IF NOT EXISTS "idx_auth_user_name_lower" ON "auth_user" (LOWER("display_name"));"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_auth_user_name_lower";"""


MODELS_STATE = (
    "eJztXF1T2zgU/SsavyydgQwNhYfuzs4Emm7ZBdIJYdtp6TiKrSRaHMm15EKW5b+vJH/Esp"
    "3EDuSzfmFi6V7FPkeW7rlX4dGAPh/WPkLG7qlntxFD3HgLHg0CR0h8yOveF62uG3XKSw57"
    "TmxtuqG16cXmPcY9aMmR+9BhSDTZiFkedjmmRDo2AMNk4KADnyEQDQDUAIDTO0T2AePUQz"
    "aADGDOwPWHxkH9+KQmh7epJcYX/s8eySf4u49MTgeID5Enxvv6TTRjYqMHxOTlV0OM6ylb"
    "hmwTcuObtHDvzD5Gjq1hh21pp9pNPnZV283N+bv3ylLeeM+0qOOPyMTaHfMhJbG572O7Jn"
    "1k3wAR5EGO7ASOxHecEP2oKXgI0cA9H8V3b08abNSHviPZMH7r+8SSJAD1TfLPm9/DW0uY"
    "meZVq2NeNzumaWTIk7eQYiFssiiRxGPCJXaPT8G4E0BUqyG/4OxDo713dPJKQUAZH3iqU8"
    "FlPClHyGHgqniYoKxINYeQDbNonw2hl4+27pVCXdz0cvCOoFoCuMYIPpgOIgPxSr4FJ29m"
    "gP13o63wPnmj8Kbi1Qxe36uwp666JOwTmC0PSSjkjM/A/E70cDxC+VDrnimo7dC1Fn1YBP"
    "ioYYL8ZJlZAfQzoO6cXzavO43Lj3L4EWPfHYVXo9OUPXXVOk617p2kaIkHAZ/OOx+AvARf"
    "WlfN9MsS23W+GPKexGpMTULvTWgnMYmaoyaNZvTgYjHcAjTrnhXNG01ztHmV5Djh9gIEh8"
    "tjxe9S+PXMcvFHwuUlg5DNJXVOzCHDuv5dbsgRhYA6tO9FVIkH5C80VgCfi/uAxEI5gKqg"
    "+iYcZDsBnbROXmQP3sdRcHI6iSe3kYN4EJI1rs8a75qGwrcHrbt7KKSCBrTsoXWaaolts1"
    "2j+ijdAgkcKHDkU4Rv0bDWRn1B8rAjgz8jI3O03v05KscLjE0eWxcQOaFTaUlTyO+W3JJz"
    "cY1tgBkQ+iUw/4WBbvcfjrvdX8UHyZs/Uqt4tyvtpC66HyIihpKX6MEaQiKgK6yHGGJMPm"
    "ClgyodVOmgSgftRgBV6aCfgubEdlj6ddZdKz20yTx76IfY6BahWfesWN5klsNQtKTw1b0q"
    "7Ttb+0bhfgbgkvL3ejLOdsI6VwHr82pzRHCEfEb/JiiZKX0TU6BYZW9ADjB5CyhBwmqEnT"
    "GgfV3Tsn0QLrRS1UKhSKmD8ot7iw4m5XE7bBY6z6ED6vP9yPNAeYorXz5EXDcMxDCAxAY2"
    "Es+Jf0D5YDXQsCyBwi0JvhBY0PPGSo1j9aXdLsN2t1u6qJjYbSo9vV49XQm9qYCLaQrtFn"
    "HGIfdbEkOE03RmCOFAxs0FqyNp3ypY3ORgsZIEPxPLYsVieVHr9Mxo1nOh7OiGcaunR4/q"
    "BdKjR/Wp6VHZpadHVdlHRJ0k562ajrXutXs414+PCwAtrKYirfp0qLFbBuLAevegffkMf1"
    "U7r2rnW1s7T9UDWRbq09Dv/V9t5Cg1Ow3ldD18R9B+Wl5qRc3LTF4lmq0zkyrRe1Ego0IA"
    "tCzqE67yEjLp4Po9B1vA9Wgf5+ZNCrnMT1Q8GjoM6MH1gmSQajIuWp+a7b1bw8bMdeDYlD"
    "DcGq8MaTvJXjyY8RMrC9Oh98HDR9PPUGMLHNTFU5UJWWsmBI0gdsrEGrHDzp0nOKofFoqY"
    "D2eEzIfpgCP+wUTZwxsZx5fBe6Piu6WEzsn1qQzgab8dxPv1YZEZLqym4q36dLx7mGZh7o"
    "gVPh/m0Hx16BprWJA7zc8dLYsSIbh32fj8SsukXLSu/ojME4ifXbROU0DLhNO/lJSa1Emf"
    "FUJ+0zlbFurLVogOtaBTCuOJxwoRDqL2FWyKRVboo+kL9FFmfYY/RCzilV6eU267l+xYym"
    "YYouZ7pWI83Wv3oH59WC+ybkizGTthPbN2CMHURx4iFsrR5n9et66mhHq6W7rogC0O/gMO"
    "Znxpq8lEyPR87HBMWE1+7Tq0jIRp9taZ3iX3ddEjB0hvnZiZqsCfs+KcUuogSKaoyqRfip"
    "eecFwWIZEIWi30p63WhQb96Xk6LLm5PG2KF0PxIIxwkLs6v+ps9UnqlWrO3a2v+669IOm6"
    "Z3WqYlNYzynDhnefOlXh0AEmix6rSDpXFffNoTr7hsdJqfCHZAswPmWIivdN5j0+H7kQ5V"
    "nviu1NYztT1S1ShtT/G9Cz6pGZf0O0ZRv81IJkzm8YngXU7p2t1890CTVmDjxInjedZFm2"
    "TZ1tDBXXVNpWaOWWtyMc55a4TS+ynFvnbhEEpDVQVCMbcKpO/cthsiXuudY51e3EuXt5V9"
    "9S1e6q7LzWsnM0Uwof2KTLzbCvr+p8XKQkdzy9InecKchtV+6lkuEvlHypTjZWJxu39WTj"
    "y4c2T/8DOQ1eHg=="
)
