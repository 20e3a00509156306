"""HTML mail made safe to show, with nh3 (the Rust ammonia sanitizer): an allow-list of tags, attributes,
URL schemes and CSS properties; everything else goes. No script, no event handler, no form, no frame,
no object, no style sheet, no ``<base>``, no ``<meta>``; links only to http, https and mailto.

Remote content (an image, or anything else fetched by the browser) is blocked unless the user asks:
its address is rewritten to nothing, so opening a message tells no tracker that it was read. The body
is then shown in a sandboxed frame whose own Content-Security-Policy allows images only from ``data:``
(and from http/https once the user asked), a second wall should a rule here ever let something through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"} | {"font", "center"}
ATTRIBUTES = {tag: set(names) - {"cite"} for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
ATTRIBUTES["*"] = {"style", "title", "dir", "lang", "align"}
ATTRIBUTES["font"] = {"color", "size", "face"}
ATTRIBUTES["a"] = {"href"}
STYLE_PROPERTIES = {
    "color", "background-color", "font", "font-family", "font-size", "font-style", "font-weight",
    "text-align", "text-decoration", "text-indent", "text-transform", "line-height", "letter-spacing",
    "vertical-align", "white-space", "width", "height", "max-width", "min-width", "margin", "margin-top",
    "margin-right", "margin-bottom", "margin-left", "padding", "padding-top", "padding-right",
    "padding-bottom", "padding-left", "border", "border-top", "border-right", "border-bottom",
    "border-left", "border-color", "border-style", "border-width", "border-collapse", "border-spacing",
    "border-radius", "display", "list-style-type",
}
_IMAGE_DATA = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[a-z0-9+/=\s]*\Z", re.I)
_REMOTE = re.compile(r"(https?:)?//", re.I)


@dataclass(frozen=True)
class Cleaned:
    html: str
    remote_blocked: int          # remote addresses rewritten to nothing


def clean(html: str, allow_remote: bool = False) -> Cleaned:
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        stripped = value.strip()
        if attribute == "href":
            return stripped if re.match(r"(https?:|mailto:)", stripped, re.I) else None
        if attribute == "src":
            if _IMAGE_DATA.match(stripped):
                return stripped
            if _REMOTE.match(stripped):
                if allow_remote and stripped.lower().startswith(("http:", "https:")):
                    return stripped
                blocked += 1
                return ""
            return None
        if attribute == "style" and re.search(r"url\s*\(|expression\s*\(|@import|behavior\s*:", value, re.I):
            blocked += 1
            return None
        return value

    cleaned = nh3.clean(
        html, tags=TAGS, clean_content_tags={"script", "style", "title", "template", "noscript", "xmp",
                                              "iframe", "object", "embed", "svg", "math", "textarea", "select"},
        attributes=ATTRIBUTES, attribute_filter=keep, url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties=STYLE_PROPERTIES, link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}}, strip_comments=True, url_relative="deny",
    )
    return Cleaned(cleaned, blocked)
