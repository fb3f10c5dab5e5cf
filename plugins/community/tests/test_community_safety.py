"""No script survives rendering: a corpus of XSS payloads posted as bodies."""

from __future__ import annotations

import re
from typing import Any

from community_support import auth
from lyo_community import content

PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" onerror="alert(1)"/>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<body onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[x]( javascript:alert(1) )",
    "[a](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="width: expression(alert(1))">x</div>',
    '<p style="x:expression(alert(1))">x</p>',
    "<style>*{x:expression(alert(1))}</style>",
    "<link rel=stylesheet href=//evil.example/x.css>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<input autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<audio src=x onerror=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=`x` onerror=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<b onmouseover=alert(1)>x</b>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "<table background=javascript:alert(1)>",
    "<a href=x onclick=alert(1)>x</a>",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<a href="http://ok.example" onclick="alert(1)">ok</a>',
    "<template><script>alert(1)</script></template>",
    '[x](https://ok.example "title" onclick=alert(1))',
]

#: What must never appear in the rendered HTML as markup (escaped text is harmless).
DANGER = re.compile(
    r"<\s*(script|iframe|svg|object|embed|style|link|meta|base|form|input|math|template|body)"
    r"|\son\w+\s*=|javascript:|vbscript:|data:|expression\(|style\s*=",
    re.IGNORECASE,
)


def test_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 50


def test_no_payload_survives_rendering() -> None:
    for payload in PAYLOADS:
        html = content.render(payload)
        assert not DANGER.search(_markup_only(html)), (payload, html)


def _markup_only(html: str) -> str:
    """The tags of ``html`` (attributes included), text between them dropped: escaped
    text such as ``&lt;script&gt;`` is inert and may stay."""
    return " ".join(re.findall(r"<[^>]*>", html))


def test_markdown_still_works() -> None:
    assert content.render("**b** [l](https://x.example)") == (
        '<p><strong>b</strong> <a href="https://x.example" '
        'rel="nofollow noopener noreferrer">l</a></p>\n'
    )
    assert content.mentions("hi @ada and @bob.smith, mail a@b.c; @ada again") == [
        "ada",
        "bob.smith",
    ]


async def test_bodies_are_sanitized_over_http(lyo_client: Any) -> None:
    for payload in PAYLOADS[:10]:
        response = await lyo_client.post(
            "/api/community/discussions",
            json={"title": "xss", "body": payload},
            headers=auth(f"crowd-{PAYLOADS.index(payload)}"),
        )
        made = await response.get_json()
        assert made["body"] == payload  # the source is kept as typed
        assert not DANGER.search(_markup_only(made["body_html"])), made["body_html"]
